import type { Rejection, SyncEvent } from '@local-first/core';
import {
  DEFAULT_MAX_FRAME_BYTES,
  formatHlc,
  type StorageTransaction,
} from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebSocketSyncStrategyOptions } from '../src/index.js';
import { LocalTransport, makeEngine, makeReplica, type Todo } from './strategy-fixtures.js';

// Each test here reproduces one way real links strand a write or corrupt a replica, on fake
// time, over links that close slowly, die silently and refuse oversized frames.

const REPO = 'todos';

function serverEvent(id: string, title: string, hlc: string, eventId = `srv-${id}`): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: new Date().toISOString(),
    dataId: id,
    data: { id, title },
    hlc,
  };
}

/** Waits `ms` of fake time, then reports what the replica and the server hold. */
async function settle(
  replica: Awaited<ReturnType<typeof makeReplica>>,
  store: { lastSequence(repository: string): Promise<number> },
  ms: number,
) {
  const synced = replica.strategy.whenSynced(ms);
  await vi.advanceTimersByTimeAsync(ms);
  return {
    synced: await synced,
    state: replica.strategy.connectionState,
    onServer: await store.lastSequence(REPO),
    pending: (await replica.todos.getPendingEvents()).length,
    opened: replica.transport.opened,
  };
}

/**
 * A connected replica (heartbeat every second) whose link then goes silent: nothing crosses
 * it, no close is reported, and a close started on it takes 30 s to complete, as with `ws`.
 */
async function goneSilent(options: Omit<Partial<WebSocketSyncStrategyOptions>, 'transport'>) {
  const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
  const transport = new LocalTransport(engine, { deadCloseMs: 30_000 });
  const replica = await makeReplica(engine, { transport, heartbeatInterval: 1_000, ...options });
  await replica.client.start();
  await vi.advanceTimersByTimeAsync(0);
  transport.silent = true;
  const end = async () => {
    await replica.client.dispose();
    await engine.close();
  };
  return { store, transport, replica, end };
}

describe('WebSocketSyncStrategy over unkind links', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cuts offline edits into frames the server accepts (600 edits of 3 KB)', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const transport = new LocalTransport(engine, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
    const replica = await makeReplica(engine, { transport });
    for (let i = 0; i < 600; i++)
      await replica.todos.upsert({ id: `t${i}`, title: 'x'.repeat(3_000) });
    await replica.client.start();
    expect(await settle(replica, store, 10_000)).toMatchObject({
      synced: true,
      onServer: 600,
      pending: 0,
      opened: 1,
    });
    const frames = transport
      .sentOf('push_events_batch')
      .map((message) => Buffer.byteLength(JSON.stringify(message)));
    expect(Math.max(...frames)).toBeLessThanOrEqual(DEFAULT_MAX_FRAME_BYTES);
    await replica.client.dispose();
    await engine.close();
  });

  it('refuses at once a change that could never fit in a frame, storing nothing', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine);
    await expect(
      replica.todos.upsert({ id: 'huge', title: 'x'.repeat(DEFAULT_MAX_FRAME_BYTES) }),
    ).rejects.toMatchObject({ code: 'event_too_large' });
    expect(await replica.todos.getById('huge')).toBeUndefined();
    await replica.todos.upsert({ id: 'small', title: 'fits' });
    await replica.client.start();
    expect(await settle(replica, store, 5_000)).toMatchObject({ synced: true, onServer: 1 });
    await replica.client.dispose();
    await engine.close();
  });

  it('refuses a stored change that the server announces it cannot take, and pushes the rest', async () => {
    const limit = 64 * 1024;
    const { engine, store } = await makeEngine({
      limits: { pingIntervalMs: 0, maxFrameBytes: limit },
    });
    const transport = new LocalTransport(engine, { maxFrameBytes: limit });
    const replica = await makeReplica(engine, { transport });
    const rejections: Rejection[] = [];
    replica.client.rejections.subscribe((rejection) => rejections.push(rejection));
    // Written offline, against the default limit: it only turns out too large once connected.
    await replica.todos.upsert({ id: 'big', title: 'x'.repeat(100_000) });
    await replica.todos.upsert({ id: 'after', title: 'small' });
    await replica.client.start();
    expect(await settle(replica, store, 5_000)).toMatchObject({
      synced: true,
      onServer: 1,
      pending: 0,
      opened: 1,
    });
    expect(rejections.map(({ dataId, code, source }) => ({ dataId, code, source }))).toEqual([
      { dataId: 'big', code: 'event_too_large', source: 'client' },
    ]);
    expect(await replica.todos.getById('big')).toBeUndefined();
    await replica.client.dispose();
    await engine.close();
  });

  it('counts as synced once its only pending change was refused as too large', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    // A server whose real limit is below what it announced: it answers the push `too_large`.
    const transport = new LocalTransport(engine, {
      intercept: (message) =>
        message.type === 'push_events_batch'
          ? {
              type: 'error',
              code: 'too_large',
              message: 'frame too large',
              requestType: 'push_events_batch',
              repository: REPO,
              requestId: message.requestId,
            }
          : undefined,
      interceptDelayMs: 100,
    });
    const replica = await makeReplica(engine, { transport });
    await replica.client.start();
    expect(await settle(replica, store, 1_000)).toMatchObject({ synced: true });
    await replica.todos.upsert({ id: 'big', title: 'refused by the server as too large' });
    // Asked while the change is pending: it must hear of the refusal, not find it done later.
    const synced = replica.strategy.whenSynced(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await synced).toBe(true);
    expect(await replica.todos.getById('big')).toBeUndefined();
    await replica.client.dispose();
    await engine.close();
  });

  it('catches up after stop() lands in the middle of connection setup (useNamespace)', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    await store.append(REPO, [
      serverEvent('1', 'from the server', formatHlc({ wall: Date.now(), counter: 0 }, 'srv')),
    ]);
    const replica = await makeReplica(engine);
    await replica.client.start();
    await new Promise<void>((resolve) => {
      const stop = replica.strategy.stateChanges.subscribe((state) => {
        if (state !== 'connected') return;
        queueMicrotask(() => stop());
        resolve();
      });
    });
    // As a sign-in flow does: the strategy is stopped while it reads its cursors.
    await replica.client.useNamespace('bob', { credentials: { authToken: 'token-bob' } });
    expect(await settle(replica, store, 5_000)).toMatchObject({ synced: true, state: 'connected' });
    expect((await replica.todos.query().get()).map((todo) => todo.title)).toEqual([
      'from the server',
    ]);
    await replica.client.dispose();
    await engine.close();
  });

  it('asks again, with backoff, for a catch-up the server answered with an error', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    await store.append(REPO, [
      serverEvent('1', 'waiting', formatHlc({ wall: Date.now(), counter: 0 }, 'srv')),
    ]);
    let failures = 0;
    const transport = new LocalTransport(engine, {
      intercept: (message) =>
        message.type === 'request_events' && failures++ < 2
          ? {
              type: 'error',
              code: failures === 1 ? 'internal' : 'forbidden',
              message: 'store unavailable',
              requestType: 'request_events',
              repository: REPO,
              requestId: message.requestId,
              retryAfterMs: 200,
            }
          : undefined,
    });
    const replica = await makeReplica(engine, { transport });
    await replica.client.start();
    expect(await settle(replica, store, 10_000)).toMatchObject({ synced: true, opened: 1 });
    expect(transport.sentOf('request_events')).toHaveLength(3);
    expect(await replica.todos.getById('1')).toMatchObject({ title: 'waiting' });
    await replica.client.dispose();
    await engine.close();
  });

  it('drops a dead link at once after a missed pong, without waiting for its close handshake', async () => {
    const { store, transport, replica, end } = await goneSilent({ pongTimeout: 500 });
    await replica.todos.upsert({ id: 'a', title: 'written while the link was dead' });
    await vi.advanceTimersByTimeAsync(1_500);
    transport.silent = false;
    // Reconnect delay: 100 ms × jitter 0.5.
    expect(await settle(replica, store, 100)).toMatchObject({
      synced: true,
      opened: 2,
      onServer: 1,
    });
    await end();
  });

  it('notices a dead link even when the pong timeout is longer than the ping interval', async () => {
    const { store, transport, replica, end } = await goneSilent({ pongTimeout: 1_500 });
    // First unanswered ping at 1 s: the link is dead at 2.5 s, whatever later pings do.
    await vi.advanceTimersByTimeAsync(2_500);
    transport.silent = false;
    expect(await settle(replica, store, 100)).toMatchObject({ synced: true, opened: 2 });
    await end();
  });

  it('never sends a ping on a closed connection (no uncaught connection_closed)', async () => {
    const { transport, replica, end } = await goneSilent({
      pongTimeout: 500,
      reconnectDelay: 60_000,
      maxReconnectDelay: 60_000,
    });
    // Many ticks after the link was given up, while its close handshake is still pending.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(replica.strategy.connectionState).toBe('reconnecting');
    const pings = transport.sentOf('ping').length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transport.sentOf('ping').length).toBe(pings);
    await end();
  });

  it('counts a frame as a sign of life when it arrives, not once the frames before it are applied', async () => {
    const { engine, store } = await makeEngine({
      now: () => Date.now(),
      limits: { pingIntervalMs: 0, maxPageEvents: 100, catchUpWindowPages: 0 },
    });
    const wall = Date.now();
    await store.append(
      REPO,
      Array.from({ length: 500 }, (_, i) =>
        serverEvent(`r${i}`, 'page', formatHlc({ wall, counter: i }, 'srv')),
      ),
    );
    // Applying a page takes 1.2 s of the device's time: longer than the pong timeout.
    const storage = new (class extends MemoryStorageAdapter {
      override async transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        return super.transaction(work);
      }
    })();
    const replica = await makeReplica(engine, {
      storage,
      heartbeatInterval: 1_000,
      pongTimeout: 500,
    });
    await replica.client.start();
    expect(await settle(replica, store, 20_000)).toMatchObject({ synced: true, opened: 1 });
    expect(await replica.todos.query().get()).toHaveLength(500);
    await replica.client.dispose();
    await engine.close();
  });

  it('sends a push again after any push error; nothing is parked until a reconnect', async () => {
    for (const code of ['forbidden', 'invalid_message', 'not_authenticated']) {
      const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
      let failed = false;
      const transport = new LocalTransport(engine, {
        intercept: (message) => {
          if (message.type !== 'push_events_batch' || failed) return undefined;
          failed = true;
          return {
            type: 'error',
            code,
            message: 'refused this once',
            requestType: 'push_events_batch',
            repository: REPO,
            requestId: message.requestId,
          };
        },
      });
      const replica = await makeReplica(engine, { transport });
      await replica.client.start();
      await vi.advanceTimersByTimeAsync(0);
      await replica.todos.upsert({ id: 'a', title: 'first' });
      await replica.todos.upsert({ id: 'b', title: 'second' });
      expect({ code, ...(await settle(replica, store, 10_000)) }).toMatchObject({
        code,
        synced: true,
        onServer: 2,
        opened: 1,
      });
      // The refused event went first again: nothing overtook it.
      const order = (await store.readAfter(REPO, 0, 10)).events.map((event) => event.dataId);
      expect({ code, order }).toEqual({ code, order: ['a', 'b'] });
      await replica.client.dispose();
      await engine.close();
    }
  });

  it('refuses events whose stamps are malformed or far ahead, so they win nothing anywhere', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    // Events a server once took without checking stamps.
    await store.append(REPO, [
      serverEvent('1', 'tilde wins', '~', 'evil-1'),
      serverEvent(
        '2',
        'from 2099',
        formatHlc({ wall: Date.parse('2099-01-01'), counter: 0 }, 'x'),
        'evil-2',
      ),
    ]);
    const a = await makeReplica(engine);
    const b = await makeReplica(engine, { authToken: 'token-bob' });
    await a.client.start();
    await b.client.start();
    await vi.advanceTimersByTimeAsync(100);
    await b.todos.upsert({ id: '1', title: 'honest 1' });
    await b.todos.upsert({ id: '2', title: 'honest 2' });
    expect(await settle(b, store, 5_000)).toMatchObject({ synced: true });
    expect(await settle(a, store, 1_000)).toMatchObject({ synced: true });
    const titles = async (replica: typeof a) =>
      (await replica.todos.query().get()).map((todo: Todo) => `${todo.id}:${todo.title}`);
    expect({ a: await titles(a), b: await titles(b) }).toEqual({
      a: ['1:honest 1', '2:honest 2'],
      b: ['1:honest 1', '2:honest 2'],
    });
    const clock = JSON.parse((await a.client.storage.getMeta('client:hlc')) ?? '{}') as {
      wall: number;
    };
    expect(clock.wall).toBeLessThan(Date.now() + 60_000);
    await a.client.dispose();
    await b.client.dispose();
    await engine.close();
  });

  it('puts a rejected change back to the last state the server accepted, and tells the app', async () => {
    let writable = true;
    const { engine, store } = await makeEngine({
      limits: { pingIntervalMs: 0 },
      authorizer: { canRead: () => true, canWrite: () => writable },
    });
    const replica = await makeReplica(engine);
    const rejections: Rejection[] = [];
    replica.client.rejections.subscribe((rejection) => rejections.push(rejection));
    const seen: string[][] = [];
    replica.todos
      .query()
      .watch()
      .subscribe((items) => seen.push(items.map((todo) => `${todo.id}:${todo.title}`)));
    await replica.client.start();
    await replica.todos.upsert({ id: '1', title: 'accepted' });
    expect(await settle(replica, store, 1_000)).toMatchObject({ synced: true, onServer: 1 });
    writable = false;
    await replica.todos.upsert({ id: '1', title: 'refused edit' });
    await replica.todos.upsert({ id: '2', title: 'refused new record' });
    expect(await settle(replica, store, 1_000)).toMatchObject({
      synced: true,
      onServer: 1,
      pending: 0,
    });
    expect(await replica.todos.getById('1')).toMatchObject({ title: 'accepted' });
    expect(await replica.todos.getById('2')).toBeUndefined();
    expect(rejections.map(({ dataId, code, source }) => ({ dataId, code, source }))).toEqual([
      { dataId: '1', code: 'forbidden', source: 'server' },
      { dataId: '2', code: 'forbidden', source: 'server' },
    ]);
    expect(seen.at(-1)).toEqual(['1:accepted']);
    await replica.client.dispose();
    await engine.close();
  });
});

import { parsePosition } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/index.js';
import { LocalTransport, makeEngine, makeReplica, titles, until } from './strategy-fixtures.js';

describe('WebSocketSyncStrategy (in-process engine)', () => {
  it('two clients converge on inserts, updates and deletes', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const a = await makeReplica(engine);
    const b = await makeReplica(engine, { authToken: 'token-bob' });
    await a.client.start();
    await b.client.start();
    await until(a.strategy.connectionChanges, Boolean);
    await until(b.strategy.connectionChanges, Boolean);
    const bView = b.todos.query().watch();
    await a.todos.upsert({ id: '1', title: 'milk' });
    await a.todos.upsert({ id: '2', title: 'eggs' });
    await until(bView, (items) => titles(items).join() === '1:milk,2:eggs');
    await b.todos.upsert({ id: '1', title: 'oat milk' });
    await b.todos.delete('2');
    await until(a.todos.query().watch(), (items) => titles(items).join() === '1:oat milk');
    expect(titles(await b.todos.query().get())).toEqual(['1:oat milk']);
    expect(await a.todos.getById('2', { includeDeleted: true })).toEqual({
      id: '2',
      _deleted: true,
    });
    await a.client.dispose();
    await b.client.dispose();
    await engine.close();
  });

  it('sends nothing but auth before auth_success, then pending events from storage, oldest first', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine);
    await replica.todos.upsert({ id: '1', title: 'written offline' });
    await replica.todos.upsert({ id: '2', title: 'also offline' });
    await replica.todos.delete('1');
    await replica.client.start();
    await until(replica.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    const types = replica.transport.sent.map((message) => message.type);
    expect(types[0]).toBe('auth');
    expect(types.indexOf('push_events_batch')).toBeGreaterThan(0);
    const stored = (await store.readAfter('todos', 0, 10)).events;
    expect(stored.map((event) => [event.dataId, event.operation])).toEqual([
      ['1', 0],
      ['2', 0],
      ['1', 2],
    ]);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('batches the changes made while a push is in flight', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine);
    await replica.client.start();
    await until(replica.strategy.connectionChanges, Boolean);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => replica.todos.upsert({ id: `t${i}`, title: `n${i}` })),
    );
    while ((await replica.todos.getPendingEvents()).length > 0) {
      await until(replica.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    }
    const pushes = replica.transport.sent.filter((message) => message.type === 'push_events_batch');
    expect(pushes.length).toBeLessThan(10);
    expect(await store.lastSequence('todos')).toBe(50);
    await replica.client.dispose();
    await engine.close();
  });

  it('sends the events of one transaction together, in as few batches as the limits allow', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine, { maxBatchEvents: 100 });
    await replica.client.start();
    await until(replica.strategy.connectionChanges, Boolean);
    // A first change acknowledged: the link is past queueing what was stored before it.
    await replica.todos.upsert({ id: 'first', title: 'first' });
    await until(replica.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    const sentBefore = replica.transport.sent.length;
    await replica.todos.upsertMany(
      Array.from({ length: 250 }, (_, i) => ({ id: `t${i}`, title: `n${i}` })),
    );
    while ((await replica.todos.getPendingEvents()).length > 0) {
      await until(replica.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    }
    const pushes = replica.transport.sent
      .slice(sentBefore)
      .filter((message) => message.type === 'push_events_batch');
    // One at a time, the first events would each leave alone while the window has room.
    expect(pushes.map((push) => (push as unknown as { events: unknown[] }).events.length)).toEqual([
      100, 100, 50,
    ]);
    expect(await store.lastSequence('todos')).toBe(251);
    await replica.client.dispose();
    await engine.close();
  });

  it('splits batches the server finds too large and stores every event once', async () => {
    const { engine, store } = await makeEngine({
      limits: { pingIntervalMs: 0, maxBatchEvents: 3 },
    });
    const replica = await makeReplica(engine, { maxBatchEvents: 8 });
    await replica.client.start();
    await until(replica.strategy.connectionChanges, Boolean);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => replica.todos.upsert({ id: `t${i}`, title: `n${i}` })),
    );
    while ((await replica.todos.getPendingEvents()).length > 0) {
      await until(replica.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    }
    expect(await store.lastSequence('todos')).toBe(20);
    const stored = (await store.readAfter('todos', 0, 100)).events.map((event) => event.dataId);
    expect(new Set(stored).size).toBe(20);
    expect(replica.transport.opened).toBe(1);
    await replica.client.dispose();
    await engine.close();
  });

  it('re-sends pending events after a restart from the same storage, and the server keeps each once', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const storage = new MemoryStorageAdapter();
    const transport = new LocalTransport(engine);
    transport.online = false;
    const first = await makeReplica(engine, { storage, transport });
    await first.todos.upsert({ id: '1', title: 'before restart' });
    await first.todos.delete('1');
    await first.client.stop();
    // A restart: a new client and strategy over the same stored data (dispose would close it).
    transport.online = true;
    const second = await makeReplica(engine, { storage, transport });
    await second.client.start();
    await until(second.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    expect((await store.readAfter('todos', 0, 10)).events.map((event) => event.operation)).toEqual([
      0, 2,
    ]);
    await second.client.dispose();
    await engine.close();
  });

  it('catches up page by page from its stored cursor and stores the cursor with the events', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0, maxPageEvents: 7 } });
    const writer = await makeReplica(engine);
    await writer.client.start();
    for (let i = 0; i < 20; i++)
      await writer.todos.upsert({ id: `t${String(i).padStart(2, '0')}`, title: 'x' });
    while ((await writer.todos.getPendingEvents()).length > 0) {
      await until(writer.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    }
    const late = await makeReplica(engine, { authToken: 'token-bob' });
    await late.client.start();
    await until(late.strategy.activityChanges, (activity) => activity.type === 'sync_complete');
    expect(await late.todos.query().get()).toHaveLength(20);
    const pages = late.transport.sent.filter((message) => message.type === 'events_received');
    expect(pages.length).toBe(3);
    const stored = await late.client.storage.getMeta('websocket:cursor:ws://in-process/sync:todos');
    expect(parsePosition(stored).sequence).toBe(20);
    await writer.client.dispose();
    await late.client.dispose();
    await engine.close();
  });

  it('keeps syncing through a token refresh without reconnecting', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine);
    await replica.client.start();
    await until(replica.strategy.connectionChanges, Boolean);
    replica.strategy.updateAuthToken('token-bob');
    await replica.todos.upsert({ id: '1', title: 'after refresh' });
    await until(replica.strategy.activityChanges, (activity) => activity.type === 'acknowledged');
    expect(replica.transport.opened).toBe(1);
    expect(replica.transport.sent.filter((message) => message.type === 'auth')).toHaveLength(2);
    await replica.client.dispose();
    await engine.close();
  });

  it('asks onAuthFailed for new credentials, and stops in "failed" when none come', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const failures: string[] = [];
    const rescued = await makeReplica(engine, {
      authToken: 'stale',
      reconnectDelay: 1,
      onAuthFailed: (failure) => {
        failures.push(failure.code);
        return { authToken: 'token-alice' };
      },
    });
    await rescued.client.start();
    await until(rescued.strategy.connectionChanges, Boolean);
    expect(failures).toEqual(['invalid_token']);
    const abandoned = await makeReplica(engine, { authToken: 'stale' });
    await abandoned.client.start();
    await until(abandoned.strategy.stateChanges, (state) => state === 'failed');
    expect(abandoned.client.connectionState.aggregate).toBe('failed');
    await rescued.client.dispose();
    await abandoned.client.dispose();
    await engine.close();
  });
});

describe('whenSynced', () => {
  it('resolves once connected, caught up and acknowledged; false when the server cannot be reached', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine);
    await replica.todos.upsert({ id: '1', title: 'offline write' });
    await replica.client.start();
    expect(await replica.strategy.whenSynced(5_000)).toBe(true);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    expect(await replica.strategy.whenSynced(5_000)).toBe(true);
    const unreachable = await makeReplica(engine);
    unreachable.transport.online = false;
    await unreachable.client.start();
    expect(await unreachable.strategy.whenSynced(50)).toBe(false);
    await replica.client.dispose();
    await unreachable.client.dispose();
    await engine.close();
  });
});

describe('backoffDelay', () => {
  it('doubles the ceiling from reconnectDelay up to the cap, with full jitter', () => {
    const options = { reconnectDelay: 1_000, maxReconnectDelay: 8_000 };
    expect(
      [0, 1, 2, 3, 4, 10].map((attempt) =>
        backoffDelay(attempt, { ...options, random: () => 0.999_999 }),
      ),
    ).toEqual([999, 1_999, 3_999, 7_999, 7_999, 7_999]);
    expect(backoffDelay(3, { ...options, random: () => 0 })).toBe(0);
  });
});

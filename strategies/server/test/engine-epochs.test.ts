import type { EventStore } from '@local-first/core';
import { MemoryEventStore } from '@local-first/store-memory';
import { describe, expect, it } from 'vitest';
import { SyncEngine, staticTokens } from '../src/engine/index.js';
import {
  authenticated,
  connect,
  event,
  type Message,
  makeEngine,
  settle,
  TOKENS_FIXTURE,
} from './engine-fixtures.js';

/** The store's methods of the 1.0 contract only: no epoch, no stable id. */
function plainStore(inner: MemoryEventStore): EventStore {
  return {
    kind: 'plain',
    open: () => inner.open(),
    append: (repository, events) => inner.append(repository, events),
    readAfter: (repository, after, limit) => inner.readAfter(repository, after, limit),
    readSince: (repository, since, limit) => inner.readSince(repository, since, limit),
    lastSequence: (repository) => inner.lastSequence(repository),
    listRepositories: () => inner.listRepositories(),
    close: () => inner.close(),
  };
}

describe('SyncEngine: limits and serverId in auth_success (revision 1.1)', () => {
  it("announces the engine's limits and the serverId it was given", async () => {
    const { engine } = await makeEngine({
      serverId: 'eu-1',
      limits: { maxPageEvents: 50, maxBatchEvents: 20, maxFrameBytes: 65_536 },
    });
    const client = connect(engine);
    client.send({ type: 'auth', token: 'token-alice' });
    expect(await client.next('auth_success')).toEqual({
      type: 'auth_success',
      protocol: 1,
      serverTime: expect.any(String),
      userId: 'alice',
      limits: { maxFrameBytes: 65_536, maxBatchEvents: 20, maxPageEvents: 50 },
      serverId: 'eu-1',
    });
    await engine.close();
  });

  it("defaults serverId to the store's stable id, the same for every engine over that store", async () => {
    const { engine, store } = await makeEngine();
    const second = new SyncEngine({ store, authenticator: staticTokens(TOKENS_FIXTURE) });
    const first = connect(engine);
    first.send({ type: 'auth', token: 'token-alice' });
    const other = connect(second);
    other.send({ type: 'auth', token: 'token-alice' });
    const ids = [
      (await first.next('auth_success')).serverId,
      (await other.next('auth_success')).serverId,
    ];
    expect(ids).toEqual([await store.storeId(), await store.storeId()]);
    await engine.close();
    await second.close();
  });

  it('sends no serverId when neither the option nor the store gives one', async () => {
    const inner = new MemoryEventStore();
    const engine = new SyncEngine({
      store: plainStore(inner),
      authenticator: staticTokens(TOKENS_FIXTURE),
    });
    await engine.store.open();
    const client = connect(engine);
    client.send({ type: 'auth', token: 'token-alice' });
    const success = await client.next('auth_success');
    expect(success.serverId).toBeUndefined();
    expect(success.limits).toBeDefined();
    await engine.close();
  });
});

describe('SyncEngine: epochs (revision 1.1)', () => {
  it('names the epoch on every catch-up page, sync_complete and live broadcast', async () => {
    const { engine, store } = await makeEngine({ limits: { maxPageEvents: 2 } });
    const epoch = await store.epoch('todos');
    const alice = await authenticated(engine);
    const bob = await authenticated(engine, 'token-bob');
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: ['a', 'b', 'c'].map((id) => event(id)),
    });
    await alice.next('ack');
    expect((await bob.next('events')).epoch).toBe(epoch);
    alice.send({ type: 'request_events', repository: 'todos' });
    const pages = [await alice.next('events'), await alice.next('events')];
    const complete = await alice.next('sync_complete');
    expect([...pages, complete].map((message) => message.epoch)).toEqual([epoch, epoch, epoch]);
    await engine.close();
  });

  it('names the new epoch once the store was given one', async () => {
    const { engine, store } = await makeEngine();
    const before = await store.epoch('todos');
    const after = await store.newEpoch();
    expect(after).not.toBe(before);
    const alice = await authenticated(engine);
    alice.send({ type: 'request_events', repository: 'todos' });
    expect(await alice.next('sync_complete')).toMatchObject({ epoch: after });
    await engine.close();
  });

  it('sends no epoch over a store that has none', async () => {
    const engine = new SyncEngine({
      store: plainStore(new MemoryEventStore()),
      authenticator: staticTokens(TOKENS_FIXTURE),
    });
    await engine.store.open();
    const alice = await authenticated(engine);
    const bob = await authenticated(engine, 'token-bob');
    alice.send({ type: 'push_event', repository: 'todos', event: event('a') });
    await alice.next('ack');
    alice.send({ type: 'request_events', repository: 'todos' });
    const sent: Message[] = [
      await bob.next('events'),
      await alice.next('events'),
      await alice.next('sync_complete'),
    ];
    expect(sent.map((message) => 'epoch' in message)).toEqual([false, false, false]);
    await engine.close();
  });
});

describe('SyncEngine: sync_complete.lastSequence is what the log holds', () => {
  it('reports the highest stored sequence when the cursor is ahead of the server', async () => {
    const { engine, store } = await makeEngine();
    await store.append(
      'todos',
      ['a', 'b', 'c'].map((id) => event(id)),
    );
    const reader = await authenticated(engine);
    // A server restored from an older backup: the client has seen sequences it no longer holds.
    reader.send({ type: 'request_events', repository: 'todos', afterSequence: 10 });
    expect(await reader.next('sync_complete')).toMatchObject({
      repository: 'todos',
      lastSequence: 3,
    });
    reader.send({ type: 'request_events', repository: 'wiped', afterSequence: 4 });
    expect(await reader.next('sync_complete')).toMatchObject({
      repository: 'wiped',
      lastSequence: 0,
    });
    await settle(reader);
    expect(reader.inbox).toEqual([]);
    await engine.close();
  });

  it('reports the cursor itself when the client is up to date', async () => {
    const { engine, store } = await makeEngine();
    await store.append(
      'todos',
      ['a', 'b', 'c'].map((id) => event(id)),
    );
    const reader = await authenticated(engine);
    reader.send({ type: 'request_events', repository: 'todos', afterSequence: 3 });
    expect(await reader.next('sync_complete')).toMatchObject({ lastSequence: 3 });
    await engine.close();
  });
});

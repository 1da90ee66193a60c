import type { MemoryEventStore } from '@local-first/store-memory';
import { describe, expect, it } from 'vitest';
import type { Authenticator } from '../src/engine/index.js';
import { authenticated, connect, event, makeEngine } from './engine-fixtures.js';

/** A promise and the function that resolves it, for a test that decides when work goes on. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Makes the store's appends wait until `release()`; `started` resolves when one is waiting. */
function holdAppends(store: MemoryEventStore) {
  const started = deferred();
  const gate = deferred();
  const append = store.append.bind(store);
  store.append = async (repository, events) => {
    started.resolve();
    await gate.promise;
    return append(repository, events);
  };
  return { started: started.promise, release: () => gate.resolve() };
}

// Liveness pings of the server would only add messages to the inboxes the tests look at.
const QUIET = { pingIntervalMs: 0 };

describe('SyncEngine: ping is answered at once, whatever the connection waits for', () => {
  it('answers a ping while a push of the same connection waits for the store', async () => {
    const { engine, store } = await makeEngine({ limits: QUIET });
    const held = holdAppends(store);
    const alice = await authenticated(engine);
    alice.send({ type: 'push_event', repository: 'todos', event: event('big') });
    await held.started;
    alice.send({ type: 'ping' });
    await alice.next('pong');
    expect(alice.inbox).toEqual([]);
    held.release();
    expect(await alice.next('ack')).toMatchObject({ eventIds: ['big'] });
    await engine.close();
  });

  it('answers a ping while a catch-up waits for the client to confirm a page', async () => {
    const { engine, store } = await makeEngine({
      limits: {
        ...QUIET,
        maxPageEvents: 2,
        catchUpWindowPages: 1,
        catchUpConfirmTimeoutMs: 60_000,
      },
    });
    await store.append(
      'todos',
      ['a', 'b', 'c', 'd'].map((id) => event(id)),
    );
    const reader = await authenticated(engine);
    // A client that confirms once is paced from then on.
    reader.send({ type: 'events_received', repository: 'todos', count: 0, lastSequence: 0 });
    reader.send({ type: 'request_events', repository: 'todos' });
    expect((await reader.next('events')).lastSequence).toBe(2);
    // The stream now waits for the first page's confirmation before it sends the second.
    reader.send({ type: 'ping' });
    await reader.next('pong');
    expect(reader.inbox).toEqual([]);
    reader.send({ type: 'events_received', repository: 'todos', count: 2, lastSequence: 2 });
    expect((await reader.next('events')).lastSequence).toBe(4);
    expect(await reader.next('sync_complete')).toMatchObject({ lastSequence: 4 });
    await engine.close();
  });

  it('answers a ping before auth_success while the authenticator is still deciding', async () => {
    const asked = deferred();
    const decided = deferred();
    const authenticator: Authenticator = {
      kind: 'slow',
      authenticate: async () => {
        asked.resolve();
        await decided.promise;
        return { userId: 'alice' };
      },
    };
    const { engine } = await makeEngine({ authenticator, limits: QUIET });
    const client = connect(engine);
    client.send({ type: 'auth', token: 'token-alice' });
    await asked.promise;
    client.send({ type: 'ping' });
    await client.next('pong');
    decided.resolve();
    expect(await client.next('auth_success')).toMatchObject({ userId: 'alice' });
    await engine.close();
  });

  it('answers a rate-limited ping with rate_limited at once, also while a push waits', async () => {
    // Tokens for auth, the push and one ping; the bucket never refills.
    const { engine, store } = await makeEngine({
      limits: { ...QUIET, rateLimitCapacity: 3, rateLimitRefillPerSecond: 0 },
    });
    const held = holdAppends(store);
    const alice = await authenticated(engine);
    alice.send({ type: 'push_event', repository: 'todos', event: event('big') });
    await held.started;
    alice.send({ type: 'ping' });
    await alice.next('pong');
    alice.send({ type: 'ping', requestId: 'p-1' });
    expect(await alice.next('error')).toMatchObject({
      code: 'rate_limited',
      requestType: 'ping',
      requestId: 'p-1',
    });
    expect(alice.inbox).toEqual([]);
    held.release();
    expect(await alice.next('ack')).toMatchObject({ eventIds: ['big'] });
    await engine.close();
  });
});

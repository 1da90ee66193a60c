import { MAX_REQUEST_ID_LENGTH } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INTERNAL_RETRY_AFTER_MS } from '../src/engine/index.js';
import { authenticated, connect, event, makeEngine, settle } from './engine-fixtures.js';

describe('SyncEngine: request ids (revision 1.1)', () => {
  it('echoes the requestId of a push in its ack; the live broadcast carries none', async () => {
    const { engine } = await makeEngine();
    const alice = await authenticated(engine);
    const bob = await authenticated(engine, 'token-bob');
    alice.send({ type: 'push_event', repository: 'todos', event: event('e1'), requestId: 'p-1' });
    expect(await alice.next('ack')).toMatchObject({ eventIds: ['e1'], requestId: 'p-1' });
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('e2')],
      requestId: 'p-2',
    });
    expect(await alice.next('ack')).toMatchObject({ eventIds: ['e2'], requestId: 'p-2' });
    const live = [await bob.next('events'), await bob.next('events')];
    expect(live.map((message) => 'requestId' in message)).toEqual([false, false]);
    await engine.close();
  });

  it('echoes it on every page and the sync_complete of a catch-up', async () => {
    const { engine } = await makeEngine({ limits: { maxPageEvents: 2 } });
    const alice = await authenticated(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: ['a', 'b', 'c', 'd', 'e'].map((id) => event(id)),
    });
    await alice.next('ack');
    alice.send({ type: 'request_events', repository: 'todos', requestId: 'sync-7' });
    const pages = [await alice.next('events'), await alice.next('events')];
    pages.push(await alice.next('events'));
    expect(pages.map((page) => [page.requestId, page.lastSequence])).toEqual([
      ['sync-7', 2],
      ['sync-7', 4],
      ['sync-7', 5],
    ]);
    expect(await alice.next('sync_complete')).toMatchObject({
      repository: 'todos',
      requestId: 'sync-7',
    });
    await engine.close();
  });

  it('echoes it on every message of request_all_events, the final sync_complete included', async () => {
    const { engine } = await makeEngine();
    const alice = await authenticated(engine);
    for (const repository of ['notes', 'todos']) {
      alice.send({ type: 'push_event', repository, event: event(`${repository}-1`) });
      await alice.next('ack');
    }
    alice.send({ type: 'request_all_events', requestId: 'all' });
    const completes = [await alice.next('sync_complete'), await alice.next('sync_complete')];
    completes.push(await alice.next('sync_complete'));
    expect(completes.map((message) => [message.repository, message.requestId])).toEqual([
      ['notes', 'all'],
      ['todos', 'all'],
      [undefined, 'all'],
    ]);
    const pages = alice.inbox.filter((message) => message.type === 'events');
    expect(pages.map((page) => page.requestId)).toEqual(['all', 'all']);
    await engine.close();
  });

  it('echoes it on auth_success and auth_failed', async () => {
    const { engine } = await makeEngine();
    const client = connect(engine);
    client.send({ type: 'auth', token: 'token-alice', requestId: 'login-1' });
    expect(await client.next('auth_success')).toMatchObject({ requestId: 'login-1' });
    client.send({ type: 'auth', token: 'wrong', requestId: 'login-2' });
    expect(await client.next('auth_failed')).toMatchObject({
      code: 'invalid_token',
      requestId: 'login-2',
    });
    await engine.close();
  });

  it('puts the requestId and the repository on errors', async () => {
    const { engine } = await makeEngine({
      limits: { maxBatchEvents: 1 },
      authorizer: {
        canRead: (_user, repository) => repository !== 'secrets',
        canWrite: () => true,
      },
    });
    const stranger = connect(engine);
    stranger.send({ type: 'push_event', repository: 'todos', event: event('x'), requestId: 'r1' });
    expect(await stranger.next('error')).toMatchObject({
      code: 'not_authenticated',
      requestId: 'r1',
      repository: 'todos',
    });
    const alice = await authenticated(engine);
    alice.send({ type: 'request_events', repository: 'secrets', requestId: 'r2' });
    expect(await alice.next('error')).toMatchObject({
      code: 'forbidden',
      requestId: 'r2',
      repository: 'secrets',
    });
    alice.send({ type: 'request_all_events', repository: 'secrets', requestId: 'r3' });
    expect(await alice.next('error')).toMatchObject({
      code: 'forbidden',
      requestId: 'r3',
      repository: 'secrets',
    });
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('1'), event('2')],
      requestId: 'r4',
    });
    expect(await alice.next('error')).toMatchObject({
      code: 'too_large',
      requestId: 'r4',
      repository: 'todos',
    });
    alice.send({ type: 'request_events', repository: 'todos', afterSequence: -1, requestId: 'r5' });
    expect(await alice.next('error')).toMatchObject({
      code: 'invalid_message',
      requestId: 'r5',
      repository: 'todos',
    });
    alice.send({ type: 'push_events_batch', repository: '', events: [], requestId: 'r6' });
    const badName = await alice.next('error');
    expect(badName).toMatchObject({ code: 'invalid_message', requestId: 'r6' });
    expect(badName.repository).toBeUndefined();
    alice.send({ type: 'teleport', repository: 'todos', requestId: 'r7' });
    expect(await alice.next('error')).toMatchObject({ code: 'unknown_type', requestId: 'r7' });
    alice.send({ kind: 'no type', requestId: 'r8' });
    expect(await alice.next('error')).toMatchObject({ code: 'invalid_message', requestId: 'r8' });
    await engine.close();
  });

  it('refuses a requestId that is not a string of at most 64 characters, and echoes none', async () => {
    const { engine } = await makeEngine();
    const alice = await authenticated(engine);
    const longest = 'x'.repeat(MAX_REQUEST_ID_LENGTH);
    for (const requestId of [`${longest}x`, 42, null, { id: 1 }]) {
      alice.send({ type: 'push_event', repository: 'todos', event: event('e1'), requestId });
      const error = await alice.next('error');
      expect(error).toMatchObject({ code: 'invalid_message', requestType: 'push_event' });
      expect(error.requestId).toBeUndefined();
    }
    alice.send({ type: 'auth', token: 'token-alice', requestId: 7 });
    expect(await alice.next('error')).toMatchObject({ code: 'invalid_message' });
    alice.send({ type: 'push_event', repository: 'todos', event: event('e1'), requestId: longest });
    expect(await alice.next('ack')).toMatchObject({ eventIds: ['e1'], requestId: longest });
    await settle(alice);
    expect(alice.inbox).toEqual([]);
    await engine.close();
  });

  it('answers a failing store with internal, the requestId, the repository and retryAfterMs', async () => {
    const { engine, store } = await makeEngine();
    const alice = await authenticated(engine);
    store.append = async () => {
      throw new Error('disk unplugged');
    };
    alice.send({ type: 'push_event', repository: 'todos', event: event('e1'), requestId: 'w' });
    expect(await alice.next('error')).toEqual({
      type: 'error',
      code: 'internal',
      message: expect.any(String),
      requestType: 'push_event',
      requestId: 'w',
      repository: 'todos',
      retryAfterMs: DEFAULT_INTERNAL_RETRY_AFTER_MS,
    });
    await engine.close();

    const tuned = await makeEngine({ limits: { internalRetryAfterMs: 250 } });
    const bob = await authenticated(tuned.engine, 'token-bob');
    tuned.store.readAfter = async () => {
      throw new Error('disk unplugged');
    };
    bob.send({ type: 'request_events', repository: 'notes', requestId: 'r' });
    expect(await bob.next('error')).toMatchObject({
      code: 'internal',
      requestId: 'r',
      repository: 'notes',
      retryAfterMs: 250,
    });
    await tuned.engine.close();
  });

  it('answers rate_limited with the requestId, the repository and when a token is back', async () => {
    const fixed = Date.parse('2025-01-23T10:00:00.000Z');
    const { engine } = await makeEngine({
      now: () => fixed,
      limits: { rateLimitCapacity: 3, rateLimitRefillPerSecond: 4, pingIntervalMs: 0 },
    });
    const client = connect(engine);
    client.send({ type: 'auth', token: 'token-alice' });
    await client.next('auth_success');
    client.send({ type: 'ping' });
    client.send({ type: 'ping' });
    client.send({ type: 'request_events', repository: 'todos', requestId: 'late' });
    expect(await client.next('error')).toMatchObject({
      code: 'rate_limited',
      requestType: 'request_events',
      requestId: 'late',
      repository: 'todos',
      retryAfterMs: 250,
    });
    await engine.close();
  });
});

import { LocalFirstError } from '@local-first/core';
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

describe('SyncEngine: session', () => {
  it('answers ping before auth and refuses everything else until auth', async () => {
    const { engine } = await makeEngine();
    const client = connect(engine);
    client.send({ type: 'ping' });
    await client.next('pong');
    client.send({ type: 'push_event', repository: 'todos', event: event('e1') });
    expect(await client.next('error')).toMatchObject({
      code: 'not_authenticated',
      requestType: 'push_event',
    });
    client.send({ type: 'auth', token: 'token-alice', protocol: 1, clientId: 'c-1' });
    expect(await client.next('auth_success')).toEqual({
      type: 'auth_success',
      protocol: 1,
      serverTime: expect.any(String),
      userId: 'alice',
      limits: { maxFrameBytes: 1_048_576, maxBatchEvents: 500, maxPageEvents: 1000 },
      serverId: expect.any(String),
    });
    await engine.close();
  });

  it('answers a bad token with auth_failed and closes with 4401', async () => {
    const { engine } = await makeEngine();
    const client = connect(engine);
    client.send({ type: 'auth', token: 'wrong' });
    expect(await client.next('auth_failed')).toMatchObject({ code: 'invalid_token' });
    expect((await client.closed).code).toBe(4401);
    await engine.close();
  });

  it('sends the reason of an auth_failed LocalFirstError as the code, auth_error for other errors', async () => {
    const refusals = [
      new LocalFirstError('auth_failed', 'the account is suspended', {
        details: { reason: 'suspended' },
      }),
      new LocalFirstError('auth_failed', 'no reason given'),
      new Error('the identity provider is down'),
    ];
    const { engine } = await makeEngine({
      authenticator: {
        kind: 'custom',
        authenticate: () => Promise.reject(refusals.shift()),
      },
    });
    const codes: unknown[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const client = connect(engine);
      client.send({ type: 'auth', token: 't' });
      codes.push((await client.next('auth_failed')).code);
      expect((await client.closed).code).toBe(4401);
    }
    expect(codes).toEqual(['suspended', 'invalid_token', 'auth_error']);
    await engine.close();
  });

  it('takes the token from the upgrade headers when auth carries none', async () => {
    const { engine } = await makeEngine();
    const client = connect(engine, { authorization: 'Bearer token-bob' });
    client.send({ type: 'auth' });
    expect(await client.next('auth_success')).toMatchObject({ userId: 'bob' });
    await engine.close();
  });

  it('re-authenticates on the open socket, and a bad refresh closes it', async () => {
    const { engine } = await makeEngine();
    const client = await authenticated(engine);
    client.send({ type: 'auth', token: 'token-bob' });
    expect(await client.next('auth_success')).toMatchObject({ userId: 'bob' });
    client.send({ type: 'auth', token: 'expired-or-wrong' });
    await client.next('auth_failed');
    expect((await client.closed).code).toBe(4401);
    await engine.close();
  });

  it('answers malformed input with coded errors and keeps the connection usable', async () => {
    const { engine } = await makeEngine();
    const client = await authenticated(engine);
    client.connection.sendRaw('{not json');
    expect(await client.next('error')).toMatchObject({ code: 'invalid_message' });
    client.send({ type: 'teleport' });
    expect(await client.next('error')).toMatchObject({
      code: 'unknown_type',
      requestType: 'teleport',
    });
    client.send({ kind: 'no type' });
    expect(await client.next('error')).toMatchObject({ code: 'invalid_message' });
    client.send({ type: 'request_events', repository: 'todos', afterSequence: -1 });
    expect(await client.next('error')).toMatchObject({
      code: 'invalid_message',
      requestType: 'request_events',
    });
    client.send({ type: 'push_events_batch', repository: '', events: [] });
    expect(await client.next('error')).toMatchObject({ code: 'invalid_message' });
    client.send({ type: 'push_events_batch', repository: 'todos', events: 'nope' });
    expect(await client.next('error')).toMatchObject({ code: 'invalid_message' });
    client.send({ type: 'push_event', repository: 'todos', event: event('ok') });
    expect(await client.next('ack')).toMatchObject({ eventIds: ['ok'] });
    await engine.close();
  });
});

describe('SyncEngine: push and broadcast', () => {
  it('acks after storing, broadcasts to the other readers but not back to the sender', async () => {
    const { engine, store } = await makeEngine();
    const alice = await authenticated(engine);
    const bob = await authenticated(engine, 'token-bob');
    const stranger = connect(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('e1'), event('e2')],
    });
    const ack = await alice.next('ack');
    expect(ack).toEqual({
      type: 'ack',
      eventIds: ['e1', 'e2'],
      repositories: { todos: ['e1', 'e2'] },
      lastSequence: 2,
    });
    expect((await store.readAfter('todos', 0, 10)).events.map((stored) => stored.eventId)).toEqual([
      'e1',
      'e2',
    ]);
    const live = await bob.next('events');
    expect(live).toMatchObject({ repository: 'todos', lastSequence: 2 });
    expect(live.hasMore).toBeUndefined();
    expect(
      (live.events as { serverSequence: number }[]).map((stored) => stored.serverSequence),
    ).toEqual([1, 2]);
    await settle(alice);
    await settle(stranger);
    expect(alice.inbox).toEqual([]);
    expect(stranger.inbox).toEqual([]);
    await engine.close();
  });

  it('sends a live broadcast to every other reader before it acks the pusher', async () => {
    const { engine } = await makeEngine();
    const alice = await authenticated(engine);
    const readers = [];
    for (let index = 0; index < 6; index++) readers.push(await authenticated(engine, 'token-bob'));
    // The first broadcast to each reader waits for its read permission; later ones know it.
    alice.send({ type: 'push_events_batch', repository: 'todos', events: [event('e1')] });
    await alice.next('ack');
    for (const reader of readers) await reader.next('events');
    const order: string[] = [];
    alice.connection.onMessage((message) => order.push(`alice:${(message as Message).type}`));
    for (const reader of readers)
      reader.connection.onMessage((message) => order.push(`reader:${(message as Message).type}`));
    alice.send({ type: 'push_events_batch', repository: 'todos', events: [event('e2')] });
    await alice.next('ack');
    for (const reader of readers) await reader.next('events');
    expect(order).toEqual([...readers.map(() => 'reader:events'), 'alice:ack']);
    await engine.close();
  });

  it('acknowledges a re-sent event as a duplicate, without storing or broadcasting it again', async () => {
    const { engine, store } = await makeEngine();
    const alice = await authenticated(engine);
    const bob = await authenticated(engine, 'token-bob');
    alice.send({ type: 'push_event', repository: 'todos', event: event('e1') });
    await alice.next('ack');
    await bob.next('events');
    alice.send({ type: 'push_event', repository: 'todos', event: event('e1') });
    expect(await alice.next('ack')).toMatchObject({
      eventIds: ['e1'],
      duplicates: ['e1'],
      lastSequence: 1,
    });
    await settle(bob);
    expect(bob.inbox).toEqual([]);
    expect(await store.lastSequence('todos')).toBe(1);
    await engine.close();
  });

  it('rejects invalid events by entry and stores the rest of the batch', async () => {
    const { engine } = await makeEngine();
    const alice = await authenticated(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [
        event('good-1'),
        { ...event('bad'), operation: 7 },
        { eventId: 'no-data', operation: 0, dataId: 'x' },
        42,
        event('good-2'),
      ],
    });
    const ack = await alice.next('ack');
    expect(ack.eventIds).toEqual(['good-1', 'good-2']);
    expect(ack.rejected).toEqual([
      { eventId: 'bad', code: 'invalid_event', message: expect.any(String) },
      { eventId: 'no-data', code: 'invalid_event', message: expect.any(String) },
      { eventId: '', code: 'invalid_event', message: expect.any(String) },
    ]);
    await engine.close();
  });

  it('refuses batches over the limit with too_large', async () => {
    const { engine } = await makeEngine({ limits: { maxBatchEvents: 2 } });
    const alice = await authenticated(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('1'), event('2'), event('3')],
    });
    expect(await alice.next('error')).toMatchObject({
      code: 'too_large',
      requestType: 'push_events_batch',
    });
    await engine.close();
  });

  it('applies the authorizer: forbidden writes are rejected, forbidden reads get an error and no broadcast', async () => {
    const { engine } = await makeEngine({
      authorizer: {
        canRead: (user, repository) => repository !== 'secrets' || user.userId === 'alice',
        canWrite: (user) => user.userId === 'alice',
      },
    });
    const alice = await authenticated(engine);
    const bob = await authenticated(engine, 'token-bob');
    bob.send({ type: 'push_event', repository: 'todos', event: event('b1') });
    expect(await bob.next('ack')).toMatchObject({
      eventIds: [],
      rejected: [{ eventId: 'b1', code: 'forbidden' }],
    });
    alice.send({ type: 'push_event', repository: 'secrets', event: event('s1') });
    await alice.next('ack');
    bob.send({ type: 'request_events', repository: 'secrets' });
    expect(await bob.next('error')).toMatchObject({
      code: 'forbidden',
      requestType: 'request_events',
    });
    await settle(bob);
    expect(bob.inbox.filter((message) => message.type === 'events')).toEqual([]);
    await engine.close();
  });
});

describe('SyncEngine: catch-up', () => {
  it('pages request_events by afterSequence and ends with sync_complete', async () => {
    const { engine } = await makeEngine({ limits: { maxPageEvents: 10 } });
    const alice = await authenticated(engine);
    const events = Array.from({ length: 25 }, (_, i) => event(`e${String(i).padStart(2, '0')}`));
    alice.send({ type: 'push_events_batch', repository: 'todos', events });
    await alice.next('ack');
    const reader = await authenticated(engine, 'token-bob');
    reader.send({ type: 'request_events', repository: 'todos', afterSequence: 3, limit: 50 });
    // Each page is confirmed, as clients do; the server keeps at most two pages unconfirmed.
    const pages = [];
    for (let i = 0; i < 3; i++) {
      const page = await reader.next('events');
      pages.push(page);
      reader.send({
        type: 'events_received',
        repository: 'todos',
        count: (page.events as unknown[]).length,
        lastSequence: page.lastSequence,
      });
    }
    expect(
      pages.map((page) => [(page.events as unknown[]).length, page.hasMore, page.lastSequence]),
    ).toEqual([
      [10, true, 13],
      [10, true, 23],
      [2, false, 25],
    ]);
    expect(await reader.next('sync_complete')).toEqual({
      type: 'sync_complete',
      repository: 'todos',
      lastSequence: 25,
      epoch: expect.any(String),
    });
    await engine.close();
  });

  it('answers an empty stream with sync_complete only', async () => {
    const { engine } = await makeEngine();
    const reader = await authenticated(engine);
    reader.send({ type: 'request_events', repository: 'empty' });
    expect(await reader.next('sync_complete')).toEqual({
      type: 'sync_complete',
      repository: 'empty',
      lastSequence: 0,
      epoch: expect.any(String),
    });
    expect(reader.inbox).toEqual([]);
    await engine.close();
  });

  it('serves since on the server clock, for clients written against the seed', async () => {
    let now = new Date('2025-01-23T10:00:00.000Z');
    const store = new MemoryEventStore({ now: () => now });
    await store.open();
    await store.append('todos', [event('old')]);
    now = new Date('2025-01-23T11:00:00.000Z');
    await store.append('todos', [event('new')]);
    const engine = new SyncEngine({ store, authenticator: staticTokens(TOKENS_FIXTURE) });
    const reader = await authenticated(engine);
    reader.send({ type: 'request_events', repository: 'todos', since: '2025-01-23T10:30:00.000Z' });
    const page = await reader.next('events');
    expect((page.events as { eventId: string }[]).map((stored) => stored.eventId)).toEqual(['new']);
    await reader.next('sync_complete');
    await engine.close();
  });

  it('request_all_events streams every readable repository, then a final sync_complete', async () => {
    const { engine } = await makeEngine({
      authorizer: { canRead: (_user, repository) => repository !== 'hidden', canWrite: () => true },
    });
    const alice = await authenticated(engine);
    for (const repository of ['notes', 'todos', 'hidden']) {
      alice.send({ type: 'push_event', repository, event: event(`${repository}-1`) });
      await alice.next('ack');
    }
    alice.send({ type: 'request_all_events' });
    const completes = [
      await alice.next('sync_complete'),
      await alice.next('sync_complete'),
      await alice.next('sync_complete'),
    ];
    expect(completes.map((message) => message.repository)).toEqual(['notes', 'todos', undefined]);
    const pages = alice.inbox.filter((message) => message.type === 'events');
    expect(pages.map((page) => page.repository)).toEqual(['notes', 'todos']);
    await engine.close();
  });

  it('handles the messages of one connection strictly in order', async () => {
    const { engine } = await makeEngine();
    const alice = await authenticated(engine);
    alice.send({ type: 'push_event', repository: 'todos', event: event('e1') });
    alice.send({ type: 'request_events', repository: 'todos' });
    const order: string[] = [];
    const ack = alice.next('ack').then(() => order.push('ack'));
    const page = alice.next('events').then(() => order.push('events'));
    await Promise.all([ack, page]);
    expect(order).toEqual(['ack', 'events']);
    await engine.close();
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fanout } from '@local-first/core/adapter';
import { afterEach, describe, expect, it } from 'vitest';
import { createRestHandler } from '../src/engine/index.js';
import { authenticated, event, makeEngine } from './engine-fixtures.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(options: Parameters<typeof makeEngine>[0] = {}) {
  const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 }, ...options });
  const rest = createRestHandler(engine);
  server = createServer((request, response) => {
    void rest(request, response).then((handled) => {
      if (!handled) response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  const call = async (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const response = await fetch(base + path, { ...init, headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { engine, store, call };
}

describe('REST routes', () => {
  it('serves health without credentials', async () => {
    const { call, engine } = await serve();
    const { status, body } = await call('/api/health');
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'ok',
      store: 'memory',
      connections: 0,
      uptimeSeconds: expect.any(Number),
    });
    await engine.close();
  });

  it('says whether it can serve: ready, or 503 with what is wrong', async () => {
    const ready = await serve();
    expect(await ready.call('/api/ready')).toEqual({
      status: 200,
      body: { status: 'ready', store: 'memory', fanout: 'off' },
    });
    await ready.engine.close();

    // A store that fails, and a fan-out that does not hear the other nodes.
    const deaf: Fanout = {
      node: 'deaf',
      listening: false,
      open: async () => undefined,
      announce: async () => undefined,
      onAnnouncement: () => () => undefined,
      close: async () => undefined,
    };
    const broken = await serve({ fanout: deaf });
    broken.store.lastSequence = () => Promise.reject(new Error('disk gone'));
    const answer = await broken.call('/api/ready');
    expect(answer).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        store: 'memory',
        fanout: 'on',
        problems: ['store (memory): disk gone', 'fan-out: not listening to the other nodes'],
      },
    });
    await broken.engine.close();
  });

  it('pushes one event and a batch, with ack bodies, and broadcasts them to sockets', async () => {
    const { call, engine } = await serve();
    const listener = await authenticated(engine, 'token-bob');
    const single = await call('/api/events/todos', {
      method: 'POST',
      token: 'token-alice',
      body: JSON.stringify(event('r1')),
    });
    expect(single).toEqual({
      status: 201,
      body: { type: 'ack', eventIds: ['r1'], repositories: { todos: ['r1'] }, lastSequence: 1 },
    });
    expect(await listener.next('events')).toMatchObject({ repository: 'todos', lastSequence: 1 });
    const batch = await call('/api/events/todos/batch', {
      method: 'POST',
      token: 'token-alice',
      body: JSON.stringify({ events: [event('r1'), event('r2'), { eventId: 'bad' }] }),
    });
    expect(batch.status).toBe(201);
    expect(batch.body).toMatchObject({
      eventIds: ['r1', 'r2'],
      duplicates: ['r1'],
      rejected: [{ eventId: 'bad', code: 'invalid_event' }],
    });
    await engine.close();
  });

  it('reads pages by afterSequence and limit', async () => {
    const { call, engine, store } = await serve();
    await store.append('todos', [event('a'), event('b'), event('c')]);
    const page = await call('/api/events/todos?afterSequence=1&limit=1', { token: 'token-alice' });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ repository: 'todos', hasMore: true, lastSequence: 2 });
    expect((page.body.events as { eventId: string }[]).map((stored) => stored.eventId)).toEqual([
      'b',
    ]);
    await engine.close();
  });

  it('names the epoch on reads, and an empty page the highest sequence the log holds', async () => {
    const { call, engine, store } = await serve();
    await store.append('todos', [event('a'), event('b')]);
    const epoch = await store.epoch('todos');
    const page = await call('/api/events/todos?afterSequence=0', { token: 'token-alice' });
    expect(page.body).toMatchObject({ lastSequence: 2, hasMore: false, epoch });
    // The client's cursor is ahead: the server's data is older than what the client has seen.
    const ahead = await call('/api/events/todos?afterSequence=9', { token: 'token-alice' });
    expect(ahead.body).toEqual({
      repository: 'todos',
      events: [],
      hasMore: false,
      lastSequence: 2,
      epoch,
    });
    await engine.close();
  });

  it('rejects stamps that are malformed or too far ahead, as sockets do', async () => {
    const { call, engine } = await serve({ now: () => Date.parse('2025-01-23T10:00:00.000Z') });
    const batch = await call('/api/events/todos/batch', {
      method: 'POST',
      token: 'token-alice',
      body: JSON.stringify({
        events: [
          event('ok', { hlc: '0001737626400000:00000:client-a' }),
          event('tilde', { hlc: '~' }),
          event('ahead', { hlc: '0001737630000000:00000:client-a' }),
        ],
      }),
    });
    expect(batch.status).toBe(201);
    expect(batch.body).toMatchObject({
      eventIds: ['ok'],
      rejected: [
        { eventId: 'tilde', code: 'invalid_event' },
        { eventId: 'ahead', code: 'invalid_event' },
      ],
    });
    await engine.close();
  });

  it('answers a failing store with 500, internal and when to try again', async () => {
    const { call, engine, store } = await serve({ limits: { internalRetryAfterMs: 1500 } });
    store.readAfter = async () => {
      throw new Error('disk unplugged');
    };
    expect(await call('/api/events/todos', { token: 'token-alice' })).toEqual({
      status: 500,
      body: {
        type: 'error',
        code: 'internal',
        message: expect.any(String),
        retryAfterMs: 1500,
      },
    });
    await engine.close();
  });

  it('answers bad credentials with 401, forbidden access with 403, bad input with 400/413', async () => {
    const { call, engine } = await serve({
      limits: { pingIntervalMs: 0, maxBatchEvents: 2 },
      authorizer: {
        canRead: (user) => user.userId === 'alice',
        canWrite: (user) => user.userId === 'alice',
      },
    });
    expect((await call('/api/events/todos')).status).toBe(401);
    expect((await call('/api/events/todos', { token: 'wrong' })).body).toMatchObject({
      code: 'invalid_token',
    });
    expect((await call('/api/events/todos', { token: 'token-bob' })).status).toBe(403);
    const forbidden = await call('/api/events/todos', {
      method: 'POST',
      token: 'token-bob',
      body: JSON.stringify(event('x')),
    });
    expect(forbidden.status).toBe(403);
    const broken = await call('/api/events/todos', {
      method: 'POST',
      token: 'token-alice',
      body: '{oops',
    });
    expect(broken).toMatchObject({ status: 400, body: { code: 'invalid_message' } });
    const tooMany = await call('/api/events/todos/batch', {
      method: 'POST',
      token: 'token-alice',
      body: JSON.stringify({ events: [event('1'), event('2'), event('3')] }),
    });
    expect(tooMany).toMatchObject({ status: 413, body: { code: 'too_large' } });
    expect(
      (await call('/api/events/todos?afterSequence=-3', { token: 'token-alice' })).status,
    ).toBe(400);
    expect((await call('/api/nothing-here', { token: 'token-alice' })).status).toBe(404);
    await engine.close();
  });

  it('answers bodies far over the limit with 413, never a reset the client cannot tell from an outage', async () => {
    const { call, engine } = await serve({
      limits: { pingIntervalMs: 0, maxFrameBytes: 16 * 1024 },
    });
    const huge = JSON.stringify({
      events: [event('1', { data: { id: 'record-1', pad: 'x'.repeat(20_000_000) } })],
    });
    // One after the other on kept-alive connections: a server that stops reading mid-body
    // resets most of these (the client is still sending when the socket goes).
    const answers: unknown[] = [];
    for (const body of [huge.slice(0, 300_000), huge, huge, huge.slice(0, 300_000), huge]) {
      answers.push(
        await call('/api/events/todos/batch', { method: 'POST', token: 'token-alice', body })
          .then((answer) => answer.status)
          .catch((error: Error) => String(error.cause ?? error)),
      );
    }
    expect(answers).toEqual([413, 413, 413, 413, 413]);
    await engine.close();
  });

  it('acknowledges a retried push the log holds even after write access went, and refuses the rest', async () => {
    let writable = true;
    const { call, engine } = await serve({
      authorizer: { canRead: () => true, canWrite: () => writable },
    });
    const push = (events: unknown[]) =>
      call('/api/events/todos/batch', {
        method: 'POST',
        token: 'token-alice',
        body: JSON.stringify({ events }),
      });
    expect((await push([event('kept')])).status).toBe(201);
    writable = false;
    // The answer to the first push was lost: the client sends it again, with a newer change.
    const retried = await push([event('kept'), event('late')]);
    expect(retried).toMatchObject({
      status: 201,
      body: {
        eventIds: ['kept'],
        duplicates: ['kept'],
        rejected: [{ eventId: 'late', code: 'forbidden' }],
      },
    });
    // Nothing held: refused whole, as before.
    expect((await push([event('late')])).status).toBe(403);
    await engine.close();
  });
});

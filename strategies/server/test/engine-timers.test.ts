import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Authenticator } from '../src/engine/index.js';
import { authenticated, connect, event, makeEngine } from './engine-fixtures.js';

/** Lets queued microtasks (message delivery, handlers) run between timer steps. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

describe('SyncEngine: timers and limits', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    vi.setSystemTime(new Date('2025-01-23T10:00:00.000Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('closes a socket that sends no auth within the auth timeout with 4408', async () => {
    const { engine } = await makeEngine({ limits: { authTimeoutMs: 5_000, pingIntervalMs: 0 } });
    const silent = connect(engine);
    const prompt = connect(engine);
    prompt.send({ type: 'auth', token: 'token-alice' });
    await flush();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(silent.closeInfo).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect((await silent.closed).code).toBe(4408);
    expect(prompt.closeInfo).toBeUndefined();
    await engine.close();
  });

  it('closes with 4401 when the credentials expire, unless a fresh auth came first', async () => {
    const expiring: Authenticator = {
      kind: 'test',
      async authenticate({ token }) {
        return { userId: token ?? 'x', expiresAt: new Date(Date.now() + 60_000) };
      },
    };
    const { engine } = await makeEngine({ authenticator: expiring, limits: { pingIntervalMs: 0 } });
    const lapsing = connect(engine);
    const refreshing = connect(engine);
    lapsing.send({ type: 'auth', token: 'a' });
    refreshing.send({ type: 'auth', token: 'b' });
    expect(await lapsing.next('auth_success')).toMatchObject({
      expiresAt: '2025-01-23T10:01:00.000Z',
    });
    await refreshing.next('auth_success');
    await vi.advanceTimersByTimeAsync(50_000);
    refreshing.send({ type: 'auth', token: 'b' });
    await refreshing.next('auth_success');
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await lapsing.closed).code).toBe(4401);
    expect(refreshing.closeInfo).toBeUndefined();
    await vi.advanceTimersByTimeAsync(50_000);
    expect((await refreshing.closed).code).toBe(4401);
    await engine.close();
  });

  it('pings every interval and closes a connection that stays silent', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 1_000 } });
    const alive = await authenticated(engine);
    const dead = await authenticated(engine, 'token-bob');
    await vi.advanceTimersByTimeAsync(1_000);
    await alive.next('ping');
    await dead.next('ping');
    alive.send({ type: 'pong' });
    await flush();
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await dead.closed).code).toBe(1001);
    expect(alive.closeInfo).toBeUndefined();
    await engine.close();
  });

  it('answers a flood with rate_limited, then closes with 4429 if it goes on', async () => {
    const { engine } = await makeEngine({
      limits: {
        rateLimitCapacity: 5,
        rateLimitRefillPerSecond: 1,
        rateLimitMaxViolations: 3,
        pingIntervalMs: 0,
      },
    });
    const flooder = await authenticated(engine);
    const calm = await authenticated(engine, 'token-bob');
    for (let i = 0; i < 8; i++) flooder.send({ type: 'ping' });
    await flush();
    expect(await flooder.next('error')).toMatchObject({ code: 'rate_limited' });
    expect((await flooder.closed).code).toBe(4429);
    calm.send({ type: 'push_event', repository: 'todos', event: event('calm') });
    expect(await calm.next('ack')).toMatchObject({ eventIds: ['calm'] });
    await engine.close();
  });

  it('on close, finishes the pushes already received, then closes sockets with 1001', async () => {
    const { engine, store } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const alice = await authenticated(engine);
    alice.send({ type: 'push_event', repository: 'todos', event: event('last') });
    await Promise.resolve();
    const closing = engine.close();
    expect((await alice.next('ack')).eventIds).toEqual(['last']);
    expect((await alice.closed).code).toBe(1001);
    await closing;
    expect(await store.lastSequence('todos')).toBe(1);
    const late = connect(engine);
    expect((await late.closed).code).toBe(1001);
  });

  it('keeps a catch-up at most two pages ahead of what the client confirmed', async () => {
    const { engine } = await makeEngine({
      limits: { pingIntervalMs: 0, maxPageEvents: 5, catchUpConfirmTimeoutMs: 10_000 },
    });
    const writer = await authenticated(engine);
    writer.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: Array.from({ length: 20 }, (_, i) => event(`e${i}`)),
    });
    await writer.next('ack');
    const reader = await authenticated(engine, 'token-bob');
    // A client that confirms once is paced from then on.
    reader.send({ type: 'events_received', repository: 'todos', count: 0, lastSequence: 0 });
    reader.send({ type: 'request_events', repository: 'todos' });
    const first = await reader.next('events');
    const second = await reader.next('events');
    expect([first.lastSequence, second.lastSequence]).toEqual([5, 10]);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(reader.inbox.filter((message) => message.type === 'events')).toEqual([]);
    // Confirming by count works too, as clients of the seed protocol do.
    reader.send({ type: 'events_received', repository: 'todos', count: 5 });
    expect((await reader.next('events')).lastSequence).toBe(15);
    // A client that stops confirming gets the rest after the timeout.
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await reader.next('events')).lastSequence).toBe(20);
    expect(await reader.next('sync_complete')).toMatchObject({ lastSequence: 20 });
    await engine.close();
  });
});

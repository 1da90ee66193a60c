import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { kinds, makeEngine, makeReplica, OneValidToken } from './fixtures.js';

/** Lets time pass, running every timer and promise due meanwhile. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('PeriodicSyncStrategy timing (fake time)', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      now: new Date('2026-06-01T00:00:00.000Z'),
    });
  });
  afterEach(() => vi.useRealTimers());

  it('when idle, asks once per repository every syncInterval and posts nothing', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.client.start();
    await advance(60_000);
    // A round at start, then one every 10 s: 7 in the first minute, all of them GETs.
    expect(rest.count('GET')).toBe(7);
    expect(rest.count('POST')).toBe(0);
    expect(replica.strategy.connectionState).toBe('connected');
    await replica.client.dispose();
    await engine.close();
  });

  it('pushes a local write pushDelay after it, not at the next interval, and writes within the delay share a batch', async () => {
    const { engine, store, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.client.start();
    await advance(2_000);
    await replica.todos.upsert({ id: '1', title: 'first' });
    await advance(500);
    await replica.todos.upsert({ id: '2', title: 'second' });
    await advance(499);
    expect(rest.count('POST')).toBe(0);
    await advance(1);
    expect(rest.count('POST')).toBe(1);
    expect(await store.lastSequence('todos')).toBe(2);
    await replica.client.dispose();
    await engine.close();
  });

  it('waits as long as Retry-After says before the next round', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest, { retryDelay: 10, maxRetryDelay: 10 });
    rest.arm({
      kind: 'answer',
      status: 503,
      body: { type: 'error', code: 'unavailable', message: 'maintenance' },
      headers: { 'retry-after': '30' },
    });
    await replica.client.start();
    await advance(0);
    expect(replica.strategy.connectionState).toBe('reconnecting');
    await advance(29_999);
    expect(rest.requests).toHaveLength(1);
    await advance(1);
    expect(rest.requests.map((seen) => seen.result)).toEqual([503, 200]);
    expect(replica.strategy.connectionState).toBe('connected');
    expect(replica.activities).toContainEqual(
      expect.objectContaining({ type: 'server_error', code: 'unavailable' }),
    );
    await replica.client.dispose();
    await engine.close();
  });

  it('backs off while the server is down, whatever the app writes, and pushes everything once it is back', async () => {
    const { engine, store, rest } = await makeEngine();
    const replica = await makeReplica(rest, { retryDelay: 1_000, maxRetryDelay: 60_000 });
    rest.online = false;
    await replica.client.start();
    for (let minute = 0; minute < 10; minute++) {
      await replica.todos.upsert({ id: `m${minute}`, title: 'offline' });
      await advance(60_000);
    }
    // Full jitter over 1 s, 2 s, 4 s … capped at 60 s: about one request a minute once capped,
    // and far from one per write or per second.
    expect(rest.requests.length).toBeLessThan(40);
    expect(replica.strategy.connectionState).toBe('reconnecting');
    rest.online = true;
    await advance(60_000);
    expect(replica.strategy.connectionState).toBe('connected');
    expect(await store.lastSequence('todos')).toBe(10);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('on 401 goes on with the credentials onAuthFailed returns', async () => {
    const { engine, rest } = await makeEngine();
    const failures: string[] = [];
    const replica = await makeReplica(rest, {
      authToken: 'expired',
      onAuthFailed: (failure) => {
        failures.push(`${failure.code} in ${failure.namespace}`);
        return { authToken: 'token-alice' };
      },
    });
    await replica.todos.upsert({ id: '1', title: 'after refresh' });
    await replica.client.start();
    await advance(10);
    expect(failures).toEqual(['invalid_token in default']);
    expect(rest.requests.map((seen) => [seen.result, seen.headers.authorization])).toEqual([
      [401, 'Bearer expired'],
      [200, 'Bearer token-alice'],
      [201, 'Bearer token-alice'],
    ]);
    expect(replica.strategy.connectionState).toBe('connected');
    await replica.client.dispose();
    await engine.close();
  });

  it('uses a token refreshed during a round for the rest of that round', async () => {
    // The server stops taking the old token the moment the new one is issued.
    const tokens = new OneValidToken('token-old');
    const { engine, store, rest } = await makeEngine({ authenticator: tokens });
    const replica = await makeReplica(rest, { authToken: 'token-old', maxBatchEvents: 10 });
    for (let i = 0; i < 30; i++) await replica.todos.upsert({ id: `t${i}`, title: `n${i}` });
    rest.latencyMs = 100;
    await replica.client.start();
    await advance(150);
    // The pull is on its way back; the three batches are still to come.
    expect(rest.requests.map((seen) => seen.headers.authorization)).toEqual(['Bearer token-old']);
    tokens.valid = 'token-new';
    replica.strategy.updateAuthToken('token-new');
    await advance(2_000);
    expect(rest.requests.slice(1).map((seen) => [seen.result, seen.headers.authorization])).toEqual(
      [
        [201, 'Bearer token-new'],
        [201, 'Bearer token-new'],
        [201, 'Bearer token-new'],
      ],
    );
    expect(replica.strategy.connectionState).toBe('connected');
    expect(await store.lastSequence('todos')).toBe(30);
    await replica.client.dispose();
    await engine.close();
  });

  it('goes on at once when new credentials came while the refused request was out', async () => {
    const tokens = new OneValidToken('token-old');
    const { engine, rest } = await makeEngine({ authenticator: tokens });
    const replica = await makeReplica(rest, { authToken: 'token-old' });
    rest.latencyMs = 100;
    await replica.client.start();
    // The request leaves with the old token; the server has moved on when it arrives.
    await advance(50);
    tokens.valid = 'token-new';
    replica.strategy.updateAuthToken('token-new');
    await advance(1_000);
    expect(rest.requests.map((seen) => [seen.result, seen.headers.authorization])).toEqual([
      [401, 'Bearer token-old'],
      [200, 'Bearer token-new'],
    ]);
    expect(replica.strategy.connectionState).toBe('connected');
    await replica.client.dispose();
    await engine.close();
  });

  it('stops in failed on 401 without new credentials, and a new token resumes it', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest, { authToken: 'expired' });
    await replica.client.start();
    await advance(600_000);
    expect(replica.strategy.connectionState).toBe('failed');
    expect(rest.requests).toHaveLength(1);
    replica.strategy.updateAuthToken('token-alice');
    await advance(0);
    expect(replica.strategy.connectionState).toBe('connected');
    expect(rest.requests.at(-1)?.headers.authorization).toBe('Bearer token-alice');
    await replica.client.dispose();
    await engine.close();
  });

  it('goes on with its rounds after a syncNow() made while it waited for new credentials', async () => {
    const tokens = new OneValidToken('token-new');
    const { engine, rest } = await makeEngine({ authenticator: tokens });
    const replica = await makeReplica(rest, { authToken: 'token-old' });
    await replica.client.start();
    await advance(10);
    expect(replica.strategy.connectionState).toBe('failed');
    // The server takes the old token again (a clock put right, say), and the app asks.
    tokens.valid = 'token-old';
    const states: string[] = [];
    replica.strategy.stateChanges.subscribe((state) => states.push(state));
    expect(await replica.strategy.syncNow()).toBe(true);
    // The state says it is trying again, so an app that waits for `failed` to hand over a
    // token hears of it.
    expect(states).toEqual(['failed', 'connecting', 'connected']);
    const before = rest.count('GET');
    await advance(30_000);
    expect(rest.count('GET') - before).toBe(3);
    expect(replica.strategy.connectionState).toBe('connected');
    await replica.client.dispose();
    await engine.close();
  });

  it('syncs no namespace it has no credentials for, and says so', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.client.start();
    await advance(0);
    const before = rest.requests.length;
    await replica.client.useNamespace('someone-else');
    await advance(60_000);
    expect(rest.requests.length).toBe(before);
    expect(replica.strategy.connectionState).toBe('failed');
    expect(replica.activities).toContainEqual({
      type: 'credentials_missing',
      namespace: 'someone-else',
    });
    replica.strategy.updateAuthToken('token-bob', { namespace: 'someone-else' });
    await advance(0);
    expect(replica.strategy.connectionState).toBe('connected');
    expect(rest.requests.at(-1)?.headers.authorization).toBe('Bearer token-bob');
    await replica.client.dispose();
    await engine.close();
  });

  it('whenSynced resolves true once a write is pushed and pulled, false while the server is down', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.client.start();
    await replica.todos.upsert({ id: '1', title: 'synced' });
    const synced = replica.strategy.whenSynced(5_000);
    await advance(1_000);
    expect(await synced).toBe(true);
    rest.online = false;
    await replica.todos.upsert({ id: '2', title: 'stuck' });
    const stuck = replica.strategy.whenSynced(5_000);
    await advance(5_000);
    expect(await stuck).toBe(false);
    expect(kinds(replica.activities)).toContain('acknowledged');
    await replica.client.dispose();
    await engine.close();
  });
});

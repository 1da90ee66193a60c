import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEngine, makeReplica } from './strategy-fixtures.js';

describe('WebSocketSyncStrategy timers', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops a link whose pings go unanswered and reconnects by itself', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine, {
      heartbeatInterval: 1_000,
      pongTimeout: 500,
      reconnectDelay: 100,
    });
    await replica.client.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(replica.strategy.connectionState).toBe('connected');
    replica.transport.silent = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(replica.transport.sent.at(-1)).toEqual({ type: 'ping' });
    await vi.advanceTimersByTimeAsync(499);
    expect(replica.strategy.connectionState).toBe('connected');
    await vi.advanceTimersByTimeAsync(1);
    expect(replica.strategy.connectionState).toBe('reconnecting');
    replica.transport.silent = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(replica.strategy.connectionState).toBe('connected');
    expect(replica.transport.opened).toBe(2);
    await replica.client.dispose();
    await engine.close();
  });

  it('backs off with growing delays while the server is unreachable, and stops cleanly', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const replica = await makeReplica(engine, {
      reconnectDelay: 1_000,
      maxReconnectDelay: 4_000,
      random: () => 0.999,
    });
    replica.transport.online = false;
    await replica.client.start();
    const attempts: number[] = [];
    const open = replica.transport.open.bind(replica.transport);
    replica.transport.open = (url, options) => {
      attempts.push(Date.now());
      return open(url, options);
    };
    await vi.advanceTimersByTimeAsync(999 + 1_998 + 3_996 + 3_996);
    expect(attempts.map((at, index) => (index === 0 ? 0 : at - attempts[index - 1]!))).toEqual([
      0, 1_998, 3_996, 3_996,
    ]);
    expect(replica.strategy.connectionState).toBe('reconnecting');
    await replica.client.stop();
    expect(replica.strategy.connectionState).toBe('stopped');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toHaveLength(4);
    await replica.client.dispose();
    await engine.close();
  });

  it('sends a push again after the server rate-limits it, instead of stalling until a reconnect', async () => {
    const { engine, store } = await makeEngine({
      now: () => Date.now(),
      limits: {
        pingIntervalMs: 0,
        rateLimitCapacity: 2,
        rateLimitRefillPerSecond: 1,
        rateLimitMaxViolations: 1_000,
      },
    });
    const replica = await makeReplica(engine, { reconnectDelay: 200 });
    await replica.client.start();
    await vi.advanceTimersByTimeAsync(0);
    await replica.todos.upsert({ id: 'a', title: 'over the limit' });
    await vi.advanceTimersByTimeAsync(0);
    expect(replica.transport.sent.map((message) => message.type)).toContain('push_events_batch');
    expect(await store.lastSequence('todos')).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await store.lastSequence('todos')).toBe(1);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    expect(replica.transport.opened).toBe(1);
    await replica.client.dispose();
    await engine.close();
  });
  it('recovers every event when one of two pipelined batches is rate-limited', async () => {
    const { engine, store } = await makeEngine({
      now: () => Date.now(),
      limits: {
        pingIntervalMs: 0,
        // auth and the catch-up request use two tokens; the first batch takes the last one.
        rateLimitCapacity: 3,
        rateLimitRefillPerSecond: 1,
        rateLimitMaxViolations: 1_000,
      },
    });
    const replica = await makeReplica(engine, { reconnectDelay: 200, maxBatchEvents: 2 });
    const refused: string[] = [];
    replica.strategy.activityChanges.subscribe((activity) => {
      if (activity.type === 'server_error') refused.push(activity.code);
    });
    await replica.client.start();
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((id) => replica.todos.upsert({ id, title: `todo ${id}` })),
    );
    await vi.advanceTimersByTimeAsync(0);
    // One batch went in, the next one in flight with it was refused.
    expect(refused).toContain('rate_limited');
    expect(await store.lastSequence('todos')).toBeLessThan(4);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await store.lastSequence('todos')).toBe(4);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    expect(replica.transport.opened).toBe(1);
    await replica.client.dispose();
    await engine.close();
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutputGuard } from '../src/engine/backpressure.js';

const LIMITS = {
  sendHighWaterBytes: 1_000,
  lagTimeoutMs: 5_000,
  lagCheckIntervalMs: 100,
  maxFrameBytes: 500,
};

/** A connection's output as the guard sees it: a byte count the test moves. */
function output() {
  const seen = { buffered: 0 as number | undefined, lagging: [] as string[], cuts: [] as string[] };
  const guard = new OutputGuard(
    {
      buffered: () => seen.buffered,
      sendLagging: (repository) => seen.lagging.push(repository),
      cut: (reason) => seen.cuts.push(reason),
    },
    LIMITS,
    Date.now,
  );
  return { seen, guard };
}

describe('OutputGuard: what a slow reader may cost the server', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets live events through under the mark, and skips them past it', () => {
    const { seen, guard } = output();
    expect(guard.admitLive('todos')).toBe(true);
    seen.buffered = 1_001;
    expect(guard.admitLive('todos')).toBe(false);
    // Held: even once under the mark, nothing live goes out until the check has drained it.
    seen.buffered = 900;
    expect(guard.admitLive('notes')).toBe(false);
    expect(guard.held).toBe(true);
  });

  it('once drained to half the mark, tells lagging once per repository missed and lets live events go again', async () => {
    const { seen, guard } = output();
    seen.buffered = 5_000;
    guard.admitLive('todos');
    guard.admitLive('todos');
    guard.admitLive('notes');
    seen.buffered = 600;
    await vi.advanceTimersByTimeAsync(100);
    expect(seen.lagging).toEqual([]);
    seen.buffered = 500;
    await vi.advanceTimersByTimeAsync(100);
    expect(seen.lagging).toEqual(['todos', 'notes']);
    expect(guard.held).toBe(false);
    expect(guard.admitLive('todos')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('makes a catch-up wait for the drain before its next page', async () => {
    const { seen, guard } = output();
    seen.buffered = 2_000;
    let resumed = false;
    void guard.whenWritable().then(() => {
      resumed = true;
    });
    await vi.advanceTimersByTimeAsync(300);
    expect(resumed).toBe(false);
    seen.buffered = 0;
    await vi.advanceTimersByTimeAsync(100);
    expect(resumed).toBe(true);
    // Nothing live was missed while it waited: no lagging notice is due.
    expect(seen.lagging).toEqual([]);
  });

  it('cuts a connection held back past the lag timeout, and lets waiting streams go', async () => {
    const { seen, guard } = output();
    seen.buffered = 1_500;
    guard.admitLive('todos');
    const waiting = guard.whenWritable();
    await vi.advanceTimersByTimeAsync(4_900);
    expect(seen.cuts).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(seen.cuts).toEqual(['output above 1000 bytes for too long']);
    await waiting;
    expect(seen.lagging).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cuts at once past the hard limit (answers piling up), beyond the last page sent', async () => {
    const { seen, guard } = output();
    // A page of 3,000 bytes went out just under the mark: that alone is no reason to cut.
    seen.buffered = 900;
    guard.sent(3_000);
    seen.buffered = 3_900;
    guard.sent();
    await vi.advanceTimersByTimeAsync(100);
    expect(seen.cuts).toEqual([]);
    // Hard limit: 4 × 1,000 (more than 1,000 + 2 × 500), plus that page.
    seen.buffered = 7_001;
    await vi.advanceTimersByTimeAsync(100);
    expect(seen.cuts).toEqual(['7001 bytes unsent; the client is not reading']);
  });

  it('does nothing on a transport that cannot tell its output', () => {
    const { seen, guard } = output();
    seen.buffered = undefined;
    expect(guard.admitLive('todos')).toBe(true);
    guard.sent();
    expect(guard.held).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

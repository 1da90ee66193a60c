import { describe, expect, it } from 'vitest';
import { formatHlc, HybridLogicalClock, hlcFromTimestamp, parseHlc } from '../src/hlc.js';

describe('HybridLogicalClock', () => {
  it('follows the wall clock when it moves forward', () => {
    let now = 1_000;
    const clock = new HybridLogicalClock({ nodeId: 'a', now: () => now });
    expect(clock.now()).toBe('0000000000001000:00000:a');
    now = 2_000;
    expect(clock.now()).toBe('0000000000002000:00000:a');
  });

  it('counts up when the wall clock stands still or goes back', () => {
    let now = 5_000;
    const clock = new HybridLogicalClock({ nodeId: 'a', now: () => now });
    const first = clock.now();
    const second = clock.now();
    now = 4_000;
    const third = clock.now();
    expect([first, second, third]).toEqual([
      '0000000000005000:00000:a',
      '0000000000005000:00001:a',
      '0000000000005000:00002:a',
    ]);
  });

  it('issues stamps after every stamp it has received, whatever its wall clock says', () => {
    const clock = new HybridLogicalClock({ nodeId: 'slow', now: () => 1_000 });
    clock.receive('0000000000009000:00003:fast');
    const stamp = clock.now();
    expect(stamp > '0000000000009000:00003:fast').toBe(true);
    expect(stamp).toBe('0000000000009000:00004:slow');
  });

  it('ignores stamps older than its own and strings that are not stamps', () => {
    const clock = new HybridLogicalClock({ nodeId: 'a', now: () => 7_000 });
    clock.now();
    clock.receive('0000000000001000:00000:b');
    clock.receive('not a stamp');
    expect(clock.now()).toBe('0000000000007000:00001:a');
  });

  it('moves to the next millisecond when the counter is exhausted', () => {
    const clock = new HybridLogicalClock({
      nodeId: 'a',
      now: () => 10,
      state: { wall: 10, counter: 99_999 },
    });
    expect(clock.now()).toBe('0000000000000011:00000:a');
  });

  it('resumes from a saved state and never repeats a stamp', () => {
    const first = new HybridLogicalClock({ nodeId: 'a', now: () => 100 });
    const issued = [first.now(), first.now()];
    const restarted = new HybridLogicalClock({ nodeId: 'a', now: () => 50, state: first.state });
    expect(restarted.now() > issued[1]!).toBe(true);
  });

  it('rejects node ids that would break the format', () => {
    expect(() => new HybridLogicalClock({ nodeId: 'a:b' })).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => new HybridLogicalClock({ nodeId: '' })).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  it('formats, parses and converts timestamps consistently', () => {
    expect(parseHlc(formatHlc({ wall: 42, counter: 7 }, 'n'))).toEqual({ wall: 42, counter: 7 });
    expect(parseHlc('garbage')).toBeUndefined();
    expect(hlcFromTimestamp('2025-01-23T10:00:00.000Z')).toBe('0001737626400000:00000:');
    expect(hlcFromTimestamp('not a date')).toBe('0000000000000000:00000:');
  });
});

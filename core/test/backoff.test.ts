import { describe, expect, it } from 'vitest';
import { fullJitterBackoff } from '../src/adapter.js';

describe('fullJitterBackoff', () => {
  it('stays below a doubling ceiling capped at the maximum', () => {
    const top = () => 0.999_999;
    expect(
      [0, 1, 2, 3, 10, 1_000].map((attempt) => fullJitterBackoff(attempt, 100, 1_000, top)),
    ).toEqual([99, 199, 399, 799, 999, 999]);
    expect(fullJitterBackoff(5, 100, 1_000, () => 0)).toBe(0);
  });
});

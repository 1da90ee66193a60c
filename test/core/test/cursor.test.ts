import { advanceCursor } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';

const live = { catchUp: false, lastSequence: undefined };

describe('advanceCursor', () => {
  it('moves over an unbroken run, in any arrival order', () => {
    expect(advanceCursor(4, [6, 5, 7], live)).toEqual({ cursor: 7, gap: false });
    expect(advanceCursor(4, [3, 4], live)).toEqual({ cursor: 4, gap: false });
  });

  it('stops before a gap in a live broadcast and asks for a catch-up', () => {
    expect(advanceCursor(4, [5, 7], live)).toEqual({ cursor: 5, gap: true });
    expect(advanceCursor(4, [9], live)).toEqual({ cursor: 4, gap: true });
  });

  it('takes a catch-up page as the complete answer from the cursor', () => {
    expect(advanceCursor(4, [5, 9], { catchUp: true, lastSequence: 9 })).toEqual({
      cursor: 9,
      gap: false,
    });
    expect(advanceCursor(4, [], { catchUp: true, lastSequence: 4 })).toEqual({
      cursor: 4,
      gap: false,
    });
  });

  it('ignores events without a sequence', () => {
    expect(advanceCursor(0, [undefined, 1], live)).toEqual({ cursor: 1, gap: false });
  });
});

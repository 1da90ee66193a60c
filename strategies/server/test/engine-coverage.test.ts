import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Coverage } from '../src/engine/coverage.js';

// Printed so that any run, failing or not, can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[coverage] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

describe('Coverage: what a node has broadcast of one repository', () => {
  it('moves known over runs once the hole below them is filled', () => {
    const coverage = new Coverage(3);
    expect(coverage.cover(3)).toBe(false);
    expect(coverage.cover(6)).toBe(true);
    expect(coverage.cover(7)).toBe(true);
    expect(coverage.cover(6)).toBe(false);
    expect([coverage.known, coverage.hasHoles, coverage.covers(7), coverage.covers(5)]).toEqual([
      3,
      true,
      true,
      false,
    ]);
    coverage.cover(5);
    coverage.cover(4);
    expect([coverage.known, coverage.hasHoles]).toEqual([7, false]);
  });

  it('covers each sequence once, in any order, and ends with no hole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.shuffledSubarray(
          Array.from({ length: 40 }, (_, i) => i + 1),
          { minLength: 40, maxLength: 40 },
        ),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        (start, order, repeats) => {
          const coverage = new Coverage(start);
          const firsts = new Set<number>();
          for (const [index, sequence] of order.entries()) {
            const fresh = coverage.cover(sequence);
            expect(fresh).toBe(sequence > start && !firsts.has(sequence));
            firsts.add(sequence);
            const repeat = repeats[index % Math.max(repeats.length, 1)];
            if (repeat !== undefined && firsts.has(repeat))
              expect(coverage.cover(repeat)).toBe(false);
            let contiguous = start;
            while (firsts.has(contiguous + 1)) contiguous += 1;
            expect(coverage.known).toBe(contiguous);
          }
          expect([coverage.known, coverage.hasHoles]).toEqual([40, false]);
        },
      ),
      { seed },
    );
  });
});

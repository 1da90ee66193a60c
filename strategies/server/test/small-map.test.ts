import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmallMap } from '../src/engine/small-map.js';

type Step =
  | { op: 'set'; key: number; value: number }
  | { op: 'delete' | 'get'; key: number }
  | { op: 'clear' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    key: fc.integer({ min: 0, max: 3 }),
    value: fc.integer(),
  }),
  fc.record({
    op: fc.constantFrom('delete' as const, 'get' as const),
    key: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ op: fc.constant('clear' as const) }),
);

describe('SmallMap', () => {
  it('answers as a Map does, in insertion order, through one entry and several', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.info(`SmallMap property seed: ${seed} (FC_SEED=${seed} to repeat)`);
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const small = new SmallMap<number, number>();
        const map = new Map<number, number>();
        for (const s of steps) {
          if (s.op === 'set') {
            small.set(s.key, s.value);
            map.set(s.key, s.value);
          } else if (s.op === 'delete') expect(small.delete(s.key)).toBe(map.delete(s.key));
          else if (s.op === 'get') {
            expect(small.get(s.key)).toBe(map.get(s.key));
            expect(small.has(s.key)).toBe(map.has(s.key));
          } else {
            small.clear();
            map.clear();
          }
          expect([...small]).toEqual([...map]);
          expect(small.size).toBe(map.size);
        }
      }),
      { seed },
    );
  });
});

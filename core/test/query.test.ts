import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../src/model.js';
import {
  candidateIds,
  compareCodePoints,
  evaluateQuery,
  type QuerySpec,
  validateQuery,
  type WhereClause,
} from '../src/query.js';

const spec = (partial: Partial<QuerySpec>): QuerySpec => ({ where: [], orderBy: [], ...partial });

describe('validateQuery', () => {
  it.each([
    ['an unknown operator', spec({ where: [{ field: 'a', op: 'like' as '==', value: 1 }] })],
    ['an empty field', spec({ where: [{ field: '', op: '==', value: 1 }] })],
    ['a comparison without value', spec({ where: [{ field: 'a', op: '<' }] })],
    ['an object value', spec({ where: [{ field: 'a', op: '==', value: { x: 1 } }] })],
    ['"in" with a scalar', spec({ where: [{ field: 'a', op: 'in', value: 1 }] })],
    ['"not in" with objects', spec({ where: [{ field: 'a', op: 'not in', value: [{ x: 1 }] }] })],
    ['a bad direction', spec({ orderBy: [{ field: 'a', direction: 'up' as 'asc' }] })],
    ['a negative limit', spec({ limit: -1 })],
    ['a fractional offset', spec({ offset: 1.5 })],
  ])('rejects %s with invalid_query', (_label, query) => {
    expect(() => validateQuery(query)).toThrowError(
      expect.objectContaining({ code: 'invalid_query' }),
    );
  });

  it('accepts every operator in its proper form', () => {
    expect(() =>
      validateQuery(
        spec({
          where: [
            { field: 'a', op: '==', value: 1 },
            { field: 'a', op: '==', value: null },
            { field: 'a', op: '!=', value: 'x' },
            { field: 'a', op: '<', value: 1 },
            { field: 'a', op: '<=', value: 1 },
            { field: 'a', op: '>', value: 1 },
            { field: 'a', op: '>=', value: true },
            { field: 'a', op: 'in', value: [1, 'x', null] },
            { field: 'a', op: 'not in', value: [] },
            { field: 'a', op: 'is null' },
            { field: 'a', op: 'is not null' },
          ],
          orderBy: [{ field: 'a', direction: 'desc' }],
          limit: 0,
          offset: 3,
        }),
      ),
    ).not.toThrow();
  });
});

describe('compareCodePoints', () => {
  it('orders characters outside the BMP after U+FFFD, as UTF-8 bytes do', () => {
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
    // UTF-16 code units would say the opposite.
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
    expect(compareCodePoints('same', 'same')).toBe(0);
  });

  it('agrees with comparing the arrays of code points, for any strings', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.info(`[code points] fast-check seed ${seed} (replay with FC_SEED=${seed})`);
    const byPoints = (a: string, b: string) => {
      const x = Array.from(a, (c) => c.codePointAt(0)!);
      const y = Array.from(b, (c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++)
        if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    // Letters, characters just below and above the surrogates, and astral ones.
    const char = fc.constantFrom('a', 'b', '\uD7FF', '\uE000', '\uFFFD', '\u{1F600}', '\u{10000}');
    const text = fc.array(char, { maxLength: 6 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(byPoints(a, b)));
      }),
      { seed, numRuns: 2_000 },
    );
  });
});

describe('evaluateQuery', () => {
  const record = (id: string, data: StoredRecord['data']): StoredRecord => ({
    id,
    data,
    deleted: data === null,
    hlc: '',
    eventId: id,
  });
  const records = [
    record('c', { n: 2 }),
    record('a', { n: 1 }),
    record('b', {}),
    record('d', null),
  ];

  it('sorts nulls first and breaks ties by id', () => {
    const found = evaluateQuery(records, spec({ orderBy: [{ field: 'n', direction: 'asc' }] }));
    expect(found.map((r) => r.id)).toEqual(['b', 'a', 'c']);
  });

  it('includes tombstones only on request and pages after sorting', () => {
    const found = evaluateQuery(records, spec({ includeDeleted: true, offset: 1, limit: 2 }));
    expect(found.map((r) => r.id)).toEqual(['b', 'c']);
  });
});

describe('candidateIds', () => {
  const where = (...clauses: WhereClause[]): QuerySpec => ({ where: clauses, orderBy: [] });

  it('pins the ids of an id == or id in clause, and of both together', () => {
    expect(candidateIds(where({ field: 'id', op: '==', value: 'a' }))).toEqual(['a']);
    expect(candidateIds(where({ field: 'id', op: 'in', value: ['a', 'b', 'a', 3] }))).toEqual([
      'a',
      'b',
    ]);
    expect(
      candidateIds(
        where({ field: 'id', op: 'in', value: ['a', 'b'] }, { field: 'id', op: '==', value: 'b' }),
      ),
    ).toEqual(['b']);
  });

  it('pins nothing for an id that is not a string: no record can match', () => {
    expect(candidateIds(where({ field: 'id', op: '==', value: 3 }))).toEqual([]);
  });

  it('leaves other queries to a full read', () => {
    expect(candidateIds(where())).toBeUndefined();
    expect(candidateIds(where({ field: 'id', op: '!=', value: 'a' }))).toBeUndefined();
    expect(candidateIds(where({ field: 'title', op: '==', value: 'a' }))).toBeUndefined();
  });
});

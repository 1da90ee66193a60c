import type { JsonValue, QueryOperator, StoredRecord } from '@local-first/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { putAll, queryIds, record, spec, tombstone } from './fixtures.js';
import type { StorageHarness } from './harness.js';

/**
 * One repository that exercises every rule of `QuerySpec`: numbers (negative, decimal, zero),
 * strings (empty, upper case before lower case, a non-ASCII letter), booleans, explicit nulls,
 * absent fields, values of the wrong type, and a tombstone that must stay out of sight.
 */
const items = (): StoredRecord[] => [
  record('r1', { n: -2.5, s: 'apple', b: true }),
  record('r2', { n: -1, s: 'Banana', b: false }),
  record('r3', { n: 0, s: 'cherry', b: true }),
  record('r4', { n: 0.5, s: 'apple pie' }),
  record('r5', { n: 10, s: '', b: false }),
  record('r6', { n: null, s: null, b: null }),
  record('r7', {}),
  record('r8', { n: '0', s: 5, b: 1 }),
  record('r9', { n: 2, s: '\u00e9clair', b: true }),
  tombstone('r0'),
];
const LIVE = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'];
const except = (...ids: string[]) => LIVE.filter((id) => !ids.includes(id));

type Case = [field: string, op: QueryOperator, value: JsonValue | undefined, expected: string[]];

const CASES: Record<string, Case[]> = {
  'numbers, negatives and decimals': [
    ['n', '==', 0, ['r3']],
    ['n', '==', -2.5, ['r1']],
    ['n', '!=', 0, except('r3')],
    ['n', '<', 0, ['r1', 'r2']],
    ['n', '<=', 0, ['r1', 'r2', 'r3']],
    ['n', '>', 0.5, ['r5', 'r9']],
    ['n', '>=', 0.5, ['r4', 'r5', 'r9']],
    ['n', '>', -1.5, ['r2', 'r3', 'r4', 'r5', 'r9']],
    ['n', '<', 1000, ['r1', 'r2', 'r3', 'r4', 'r5', 'r9']],
    ['n', 'in', [0, 10], ['r3', 'r5']],
    ['n', 'not in', [0, 10], except('r3', 'r5')],
    ['n', 'is null', undefined, ['r6', 'r7']],
    ['n', 'is not null', undefined, except('r6', 'r7')],
  ],
  'strings, compared by code point': [
    ['s', '==', 'apple', ['r1']],
    ['s', '==', '', ['r5']],
    ['s', '!=', 'apple', except('r1')],
    // 'B' (U+0042) sorts before every lower-case letter, and '' before everything.
    ['s', '<', 'apple', ['r2', 'r5']],
    ['s', '<=', 'apple', ['r1', 'r2', 'r5']],
    ['s', '<', 'b', ['r1', 'r2', 'r4', 'r5']],
    ['s', '>', 'apple', ['r3', 'r4', 'r9']],
    // U+00E9 is above 'f' by code point, though a locale collation would put it near 'e'.
    ['s', '>', 'f', ['r9']],
    ['s', '>=', 'cherry', ['r3', 'r9']],
    ['s', 'in', ['apple', 'cherry'], ['r1', 'r3']],
    ['s', 'not in', ['apple', ''], except('r1', 'r5')],
    ['s', 'is null', undefined, ['r6', 'r7']],
    ['s', 'is not null', undefined, except('r6', 'r7')],
  ],
  booleans: [
    ['b', '==', true, ['r1', 'r3', 'r9']],
    ['b', '==', false, ['r2', 'r5']],
    ['b', '!=', true, except('r1', 'r3', 'r9')],
    ['b', '<', true, ['r2', 'r5']],
    ['b', '<=', false, ['r2', 'r5']],
    ['b', '>', false, ['r1', 'r3', 'r9']],
    ['b', '>=', true, ['r1', 'r3', 'r9']],
    ['b', 'in', [false], ['r2', 'r5']],
    ['b', 'not in', [true], except('r1', 'r3', 'r9')],
    ['b', 'is null', undefined, ['r4', 'r6', 'r7']],
    ['b', 'is not null', undefined, except('r4', 'r6', 'r7')],
  ],
  'values of another type never compare': [
    ['n', '==', '0', ['r8']],
    ['n', '<', '1', ['r8']],
    ['n', '>', 'a', []],
    ['s', '>=', 5, ['r8']],
    ['s', '<', 100, ['r8']],
    ['b', '==', 1, ['r8']],
    ['b', '>', 0, ['r8']],
    ['n', 'in', [0, '0'], ['r3', 'r8']],
    ['b', 'in', [1, true], ['r1', 'r3', 'r8', 'r9']],
    ['n', 'not in', ['0', -1], except('r8', 'r2')],
  ],
  'null and absent fields': [
    ['n', '==', null, []],
    ['n', '!=', null, LIVE],
    ['n', '<', null, []],
    ['n', '>=', null, []],
    ['n', 'in', [0, null], ['r3']],
    ['n', 'not in', [null], LIVE],
    ['missing', 'is null', undefined, LIVE],
    ['missing', 'is not null', undefined, []],
    ['missing', '!=', 'x', LIVE],
    ['missing', 'not in', ['x'], LIVE],
    ['missing', '==', 'x', []],
    ['missing', 'in', ['x'], []],
    // Names that plain JavaScript objects inherit must not read as present fields.
    ['constructor', 'is null', undefined, LIVE],
    ['toString', 'is not null', undefined, []],
    ['hasOwnProperty', '!=', 'x', LIVE],
  ],
};

export function describeQueryOperators(harness: StorageHarness): void {
  describe('query operators', () => {
    beforeEach(async () => {
      await harness.open();
      await putAll(harness.adapter, 'items', items());
    });

    for (const [group, cases] of Object.entries(CASES)) {
      describe(group, () => {
        for (const [field, op, value, expected] of cases) {
          const shown = value === undefined ? '' : ` ${JSON.stringify(value)}`;
          it(`${field} ${op}${shown} matches [${expected.join(', ')}]`, async () => {
            const clause = value === undefined ? { field, op } : { field, op, value };
            expect(await queryIds(harness.adapter, 'items', spec([clause]))).toEqual(expected);
          });
        }
      });
    }

    it('combines several where clauses with AND', async () => {
      const where = spec([
        { field: 'n', op: '>=', value: -1 },
        { field: 'b', op: '==', value: true },
        { field: 's', op: '!=', value: 'cherry' },
      ]);
      expect(await queryIds(harness.adapter, 'items', where)).toEqual(['r9']);
    });

    it('queries `id` like any other field', async () => {
      const ids = (op: QueryOperator, value?: JsonValue) =>
        queryIds(harness.adapter, 'items', spec([{ field: 'id', op, value }]));
      expect(await ids('==', 'r3')).toEqual(['r3']);
      expect(await ids('!=', 'r3')).toEqual(except('r3'));
      expect(await ids('>', 'r7')).toEqual(['r8', 'r9']);
      expect(await ids('<=', 'r2')).toEqual(['r1', 'r2']);
      expect(await ids('in', ['r2', 'r4', 'nope'])).toEqual(['r2', 'r4']);
      expect(await ids('not in', ['r2', 'r4'])).toEqual(except('r2', 'r4'));
      expect(await ids('is null')).toEqual([]);
      expect(await ids('is not null')).toEqual(LIVE);
    });

    it('finds fields whose names are inherited by plain objects when they are present', async () => {
      await harness.adapter.putRecord('odd', record('o1', { constructor: 'c', toString: 1 }));
      await harness.adapter.putRecord('odd', record('o2', {}));
      const ids = (field: string, op: QueryOperator, value?: JsonValue) =>
        queryIds(harness.adapter, 'odd', spec([{ field, op, value }]));
      expect(await ids('constructor', '==', 'c')).toEqual(['o1']);
      expect(await ids('constructor', 'is null')).toEqual(['o2']);
      expect(await ids('toString', '>', 0)).toEqual(['o1']);
    });

    it('never matches a value that is an array or an object', async () => {
      await putAll(harness.adapter, 'shapes', [
        record('s1', { v: [1] }),
        record('s2', { v: { a: 1 } }),
        record('s3', { v: 1 }),
      ]);
      const ids = (op: QueryOperator, value?: JsonValue) =>
        queryIds(harness.adapter, 'shapes', spec([{ field: 'v', op, value }]));
      expect(await ids('==', 1)).toEqual(['s3']);
      expect(await ids('>=', 0)).toEqual(['s3']);
      expect(await ids('!=', 1)).toEqual(['s1', 's2']);
      expect(await ids('is not null')).toEqual(['s1', 's2', 's3']);
    });
  });
}

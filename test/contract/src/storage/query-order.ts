import type { OrderClause } from '@local-first/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { putAll, queryIds, record, spec, tombstone } from './fixtures.js';
import type { StorageHarness } from './harness.js';

const asc = (field: string): OrderClause => ({ field, direction: 'asc' });
const desc = (field: string): OrderClause => ({ field, direction: 'desc' });

export function describeQueryOrder(harness: StorageHarness): void {
  describe('query ordering and paging', () => {
    beforeEach(() => harness.open());

    it('returns records by id ascending (by code point) when there is no orderBy', async () => {
      // Written out of order, with ids whose UTF-16 order differs from their code point order.
      const ids = ['b', 'a', 'B', '\u{1F600}', '\uFFFD', 'a1', '10', '9', '\u00e9'];
      await putAll(
        harness.adapter,
        'items',
        ids.map((id) => record(id)),
      );
      expect(await queryIds(harness.adapter, 'items', spec())).toEqual([
        '10',
        '9',
        'B',
        'a',
        'a1',
        'b',
        '\u00e9',
        '\uFFFD',
        '\u{1F600}',
      ]);
    });

    it('orders strings by code point, outside the BMP after U+E000 to U+FFFD', async () => {
      await putAll(harness.adapter, 'items', [
        record('p1', { s: '\u{1F600}' }),
        record('p2', { s: '\uFFFD' }),
        record('p3', { s: '\uE000' }),
        record('p4', { s: 'z' }),
        record('p5', { s: 'Z' }),
        record('p6', { s: '\u00e9' }),
        record('p7', { s: 'e\u0301' }),
      ]);
      const sorted = ['p5', 'p7', 'p4', 'p6', 'p3', 'p2', 'p1'];
      expect(await queryIds(harness.adapter, 'items', spec([], [asc('s')]))).toEqual(sorted);
      expect(await queryIds(harness.adapter, 'items', spec([], [desc('s')]))).toEqual(
        [...sorted].reverse(),
      );
      const where = (op: '>' | '<' | '>=', value: string) =>
        queryIds(harness.adapter, 'items', spec([{ field: 's', op, value }]));
      expect(await where('>', '\uFFFD')).toEqual(['p1']);
      expect(await where('>=', '\uE000')).toEqual(['p1', 'p2', 'p3']);
      expect(await where('<', '\u{1F600}')).toEqual(['p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
    });

    it('orders mixed types null < boolean < number < string < other, ties by id', async () => {
      await putAll(harness.adapter, 'items', [
        record('k01', { v: 'b' }),
        record('k02', { v: 1 }),
        record('k03', { v: null }),
        record('k04', {}),
        record('k05', { v: true }),
        record('k06', { v: false }),
        record('k07', { v: -3.5 }),
        record('k08', { v: 'B' }),
        // Arrays sort after every scalar, by their JSON text: "[1,10]" before "[1,2]".
        record('k09', { v: [1, 2] }),
        record('k10', { v: [1, 10] }),
        record('k11', { v: 0.25 }),
        record('k12', { v: '' }),
      ]);
      expect(await queryIds(harness.adapter, 'items', spec([], [asc('v')]))).toEqual([
        'k03',
        'k04',
        'k06',
        'k05',
        'k07',
        'k11',
        'k02',
        'k12',
        'k08',
        'k01',
        'k10',
        'k09',
      ]);
      // desc reverses the values, but records with equal values still come by id ascending.
      expect(await queryIds(harness.adapter, 'items', spec([], [desc('v')]))).toEqual([
        'k09',
        'k10',
        'k01',
        'k08',
        'k12',
        'k02',
        'k11',
        'k07',
        'k05',
        'k06',
        'k03',
        'k04',
      ]);
    });

    describe('with several sort keys', () => {
      beforeEach(() =>
        putAll(harness.adapter, 'scores', [
          record('m1', { team: 'red', score: 3 }),
          record('m2', { team: 'blue', score: 5 }),
          record('m3', { team: 'red', score: 5 }),
          record('m4', { team: 'blue', score: 3 }),
          record('m5', { team: 'red', score: 5 }),
          record('m6', { score: 1 }),
        ]),
      );
      const order = (...orderBy: OrderClause[]) =>
        queryIds(harness.adapter, 'scores', spec([], orderBy));

      it('sorts by the first key, then the next, then by id', async () => {
        expect(await order(asc('team'), desc('score'))).toEqual([
          'm6',
          'm2',
          'm4',
          'm3',
          'm5',
          'm1',
        ]);
        expect(await order(desc('team'), asc('score'))).toEqual([
          'm1',
          'm3',
          'm5',
          'm4',
          'm2',
          'm6',
        ]);
        expect(await order(desc('team'), desc('score'))).toEqual([
          'm3',
          'm5',
          'm1',
          'm2',
          'm4',
          'm6',
        ]);
      });

      it('breaks ties by id ascending in both directions', async () => {
        expect(await order(desc('score'))).toEqual(['m2', 'm3', 'm5', 'm1', 'm4', 'm6']);
        expect(await order(asc('score'))).toEqual(['m6', 'm1', 'm4', 'm2', 'm3', 'm5']);
      });

      it('lets an explicit id key reverse the tie-break', async () => {
        expect(await order(desc('score'), desc('id'))).toEqual([
          'm5',
          'm3',
          'm2',
          'm4',
          'm1',
          'm6',
        ]);
        expect(await order(desc('id'))).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1']);
      });

      it('filters, then sorts, then pages', async () => {
        const query = spec([{ field: 'score', op: '>', value: 1 }], [desc('score')], {
          offset: 1,
          limit: 3,
        });
        expect(await queryIds(harness.adapter, 'scores', query)).toEqual(['m3', 'm5', 'm1']);
      });
    });

    describe('limit and offset', () => {
      beforeEach(() =>
        putAll(harness.adapter, 'items', [
          record('r3'),
          record('r1'),
          record('r5'),
          record('r2'),
          record('r4'),
          tombstone('r0'),
        ]),
      );
      const page = (limit?: number, offset?: number) =>
        queryIds(
          harness.adapter,
          'items',
          spec([], [], {
            ...(limit === undefined ? {} : { limit }),
            ...(offset === undefined ? {} : { offset }),
          }),
        );

      it('limits the number of records', async () => {
        expect(await page(2)).toEqual(['r1', 'r2']);
        expect(await page(5)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
        expect(await page(50)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
        expect(await page(0)).toEqual([]);
      });

      it('skips records with offset', async () => {
        expect(await page(undefined, 2)).toEqual(['r3', 'r4', 'r5']);
        expect(await page(undefined, 0)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
        expect(await page(undefined, 5)).toEqual([]);
        expect(await page(undefined, 9)).toEqual([]);
      });

      it('applies limit after offset, also past the end', async () => {
        expect(await page(2, 2)).toEqual(['r3', 'r4']);
        expect(await page(10, 3)).toEqual(['r4', 'r5']);
        expect(await page(2, 4)).toEqual(['r5']);
        expect(await page(2, 5)).toEqual([]);
        expect(await page(3, 100)).toEqual([]);
      });
    });

    describe('tombstones', () => {
      beforeEach(() =>
        putAll(harness.adapter, 'items', [
          record('a', { s: 'x' }),
          tombstone('b'),
          record('c', { s: 'y' }),
          record('d', {}),
        ]),
      );

      it('are left out by default, whatever the query', async () => {
        expect(await queryIds(harness.adapter, 'items', spec())).toEqual(['a', 'c', 'd']);
        const byId = spec([{ field: 'id', op: '==', value: 'b' }]);
        expect(await queryIds(harness.adapter, 'items', byId)).toEqual([]);
        const nulls = spec([{ field: 's', op: 'is null' }]);
        expect(await queryIds(harness.adapter, 'items', nulls)).toEqual(['d']);
      });

      it('are included with includeDeleted, with no field but id', async () => {
        const all = await harness.adapter.queryRecords(
          'items',
          spec([], [], { includeDeleted: true }),
        );
        expect(all.map((item) => item.id)).toEqual(['a', 'b', 'c', 'd']);
        expect(all[1]).toEqual(tombstone('b'));
        const q = (where: Parameters<typeof spec>[0], orderBy: OrderClause[] = []) =>
          queryIds(harness.adapter, 'items', spec(where, orderBy, { includeDeleted: true }));
        expect(await q([{ field: 'id', op: '==', value: 'b' }])).toEqual(['b']);
        expect(await q([{ field: 's', op: 'is null' }])).toEqual(['b', 'd']);
        expect(await q([{ field: 's', op: '!=', value: 'x' }])).toEqual(['b', 'c', 'd']);
        expect(await q([{ field: 'id', op: 'is not null' }])).toEqual(['a', 'b', 'c', 'd']);
        expect(await q([], [desc('s')])).toEqual(['c', 'a', 'b', 'd']);
        const paged = spec([], [], { includeDeleted: true, offset: 1, limit: 2 });
        expect(await queryIds(harness.adapter, 'items', paged)).toEqual(['b', 'c']);
      });

      it('are left out when includeDeleted is false', async () => {
        const query = spec([], [], { includeDeleted: false });
        expect(await queryIds(harness.adapter, 'items', query)).toEqual(['a', 'c', 'd']);
      });
    });
  });
}

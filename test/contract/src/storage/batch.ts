import { ERROR_CODES } from '@local-first/core';
import type { StorageTransaction } from '@local-first/core/adapter';
import { beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { event, eventIds, expectCode, record, tombstone } from './fixtures.js';
import type { StorageHarness } from './harness.js';

type BatchMethod = 'getRecords' | 'getEventStatuses' | 'putRecords' | 'appendEvents';

/**
 * The optional batch methods. Each must do what the single calls would do one after the
 * other; an adapter without one is skipped for it (the client falls back to the single calls).
 */
export function describeBatchMethods(harness: StorageHarness): void {
  describe('batch methods (optional)', () => {
    beforeEach(() => harness.open());

    function onlyWith(context: TestContext, method: BatchMethod): void {
      if (typeof harness.adapter[method] !== 'function')
        context.skip(`the adapter has no ${method}; the client uses the single calls`);
    }

    it('getRecords answers the written records by id, tombstones included, copies', async (context) => {
      onlyWith(context, 'getRecords');
      await harness.adapter.putRecord('tasks', record('a', { title: 'A' }));
      await harness.adapter.putRecord('tasks', tombstone('b'));
      await harness.adapter.putRecord('notes', record('c'));
      const found = await harness.adapter.getRecords!('tasks', ['a', 'b', 'c', 'zz', 'a']);
      expect([...found.keys()].sort()).toEqual(['a', 'b']);
      expect(found.get('a')).toStrictEqual(record('a', { title: 'A' }));
      expect(found.get('b')).toStrictEqual(tombstone('b'));
      found.get('a')!.data!.title = 'changed by the caller';
      expect(await harness.adapter.getRecord('tasks', 'a')).toStrictEqual(
        record('a', { title: 'A' }),
      );
      expect((await harness.adapter.getRecords!('nothing', ['a'])).size).toBe(0);
    });

    it('getEventStatuses answers the status of each logged id and nothing else', async (context) => {
      onlyWith(context, 'getEventStatuses');
      await harness.adapter.appendEvent(event('e-1'));
      await harness.adapter.appendEvent(event('e-2', { syncStatus: 'ok', local: false }));
      await harness.adapter.appendEvent(event('e-3'));
      await harness.adapter.setEventStatus(['e-3'], 'failed');
      const statuses = await harness.adapter.getEventStatuses!(['e-3', 'e-1', 'e-9', 'e-2']);
      expect(Object.fromEntries(statuses)).toStrictEqual({
        'e-1': 'pending',
        'e-2': 'ok',
        'e-3': 'failed',
      });
      expect((await harness.adapter.getEventStatuses!([])).size).toBe(0);
    });

    it('putRecords writes like putRecord in order, the last state of an id winning', async (context) => {
      onlyWith(context, 'putRecords');
      await harness.adapter.putRecord('tasks', record('a', { v: 1 }));
      const input = [record('a', { v: 2 }, 2), record('b'), tombstone('a', 3)];
      await harness.adapter.putRecords!('tasks', input);
      input[1]!.data!.v = 'changed by the caller';
      expect(await harness.adapter.getRecord('tasks', 'a')).toStrictEqual(tombstone('a', 3));
      expect(await harness.adapter.getRecord('tasks', 'b')).toStrictEqual(record('b'));
      await harness.adapter.putRecords!('tasks', []);
      expect(await harness.adapter.getRecord('notes', 'b')).toBeUndefined();
    });

    it('appendEvents appends in the order given and keeps every field', async (context) => {
      onlyWith(context, 'appendEvents');
      await harness.adapter.appendEvent(event('e-0'));
      const batch = [
        event('e-9', { local: false, syncStatus: 'ok', serverSequence: 3 }),
        event('e-1'),
      ];
      await harness.adapter.appendEvents!(batch);
      batch[1]!.data!.title = 'changed by the caller';
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['e-0', 'e-9', 'e-1']);
      expect(await harness.adapter.getEvent('e-9')).toStrictEqual(
        event('e-9', { local: false, syncStatus: 'ok', serverSequence: 3 }),
      );
      expect(await harness.adapter.getEvent('e-1')).toStrictEqual(event('e-1'));
    });

    it('appendEvents refuses a known or repeated id with duplicate_event and appends none', async (context) => {
      onlyWith(context, 'appendEvents');
      await harness.adapter.appendEvent(event('e-1'));
      await expectCode(
        harness.adapter.appendEvents!([event('e-2'), event('e-1')]),
        ERROR_CODES.duplicateEvent,
      );
      await expectCode(
        harness.adapter.appendEvents!([event('e-3'), event('e-4'), event('e-3')]),
        ERROR_CODES.duplicateEvent,
      );
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['e-1']);
    });

    it('inside a transaction, a refused appendEvents leaves none of its batch; the rest commits or rolls back whole', async (context) => {
      onlyWith(context, 'appendEvents');
      await harness.adapter.appendEvent(event('e-1'));
      await harness.adapter.transaction(async (tx: StorageTransaction) => {
        await tx.appendEvent(event('e-2'));
        await expectCode(
          tx.appendEvents!([event('e-3'), event('e-1')]),
          ERROR_CODES.duplicateEvent,
        );
        await expectCode(
          tx.appendEvents!([event('e-4'), event('e-5'), event('e-4')]),
          ERROR_CODES.duplicateEvent,
        );
        expect(await tx.hasEvent('e-3')).toBe(false);
        expect(await tx.hasEvent('e-4')).toBe(false);
        await tx.appendEvents!([event('e-3')]);
      });
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['e-1', 'e-2', 'e-3']);
      const failure = new Error('stop here');
      await expect(
        harness.adapter.transaction(async (tx: StorageTransaction) => {
          await tx.appendEvents!([event('e-6')]);
          await expectCode(
            tx.appendEvents!([event('e-7'), event('e-6')]),
            ERROR_CODES.duplicateEvent,
          );
          await tx.appendEvents!([event('e-7')]);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['e-1', 'e-2', 'e-3']);
    });

    it('inside a transaction, batch writes are seen by batch reads and rolled back with it', async (context) => {
      onlyWith(context, 'appendEvents');
      onlyWith(context, 'putRecords');
      const failure = new Error('stop here');
      const seen: unknown[] = [];
      await expect(
        harness.adapter.transaction(async (tx: StorageTransaction) => {
          await tx.putRecords!('tasks', [record('a'), record('b')]);
          await tx.appendEvents!([event('e-1'), event('e-2')]);
          seen.push((await tx.getRecords?.('tasks', ['a', 'b']))?.size ?? 2);
          seen.push((await tx.getEventStatuses?.(['e-1', 'e-2']))?.size ?? 2);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(seen).toEqual([2, 2]);
      expect(await harness.adapter.getRecord('tasks', 'a')).toBeUndefined();
      expect(await harness.adapter.getEvents()).toEqual([]);
    });
  });
}

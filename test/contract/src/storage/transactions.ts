import { ERROR_CODES, type StorageAdapter } from '@local-first/core';
import type { StorageTransaction } from '@local-first/core/adapter';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  event,
  eventIds,
  expectCode,
  queryIds,
  record,
  rejection,
  spec,
  tombstone,
} from './fixtures.js';
import type { StorageHarness } from './harness.js';

/** Thrown by test work to abort a transaction; its identity proves the error is re-thrown. */
class AbortWork extends Error {}

/** The state written before each test, which a rolled-back transaction must leave as it was. */
async function seedBefore(adapter: StorageAdapter): Promise<void> {
  await adapter.putRecord('tasks', record('kept', { v: 1 }, 1));
  await adapter.putRecord('tasks', tombstone('gone', 2));
  await adapter.appendEvent(event('e-b'));
  await adapter.appendEvent(event('e-a', { syncStatus: 'ok' }));
  await adapter.setMeta('cursor', '41');
  await adapter.setMeta('client', 'c-1');
}

/** Everything `seedBefore` wrote, read back the way a test compares it. */
async function snapshot(reader: StorageAdapter) {
  return {
    records: await reader.queryRecords('tasks', spec([], [], { includeDeleted: true })),
    other: await reader.queryRecords('notes', spec([], [], { includeDeleted: true })),
    events: await reader.getEvents(),
    cursor: await reader.getMeta('cursor'),
    client: await reader.getMeta('client'),
    fresh: await reader.getMeta('fresh'),
  };
}

/** Writes one of everything, changing every piece of seeded state. */
async function writeEverything(tx: StorageTransaction): Promise<void> {
  await tx.putRecord('tasks', record('kept', { v: 2 }, 3));
  await tx.putRecord('tasks', record('kept', { v: 3 }, 4));
  await tx.putRecord('tasks', record('gone', { v: 'revived' }, 5));
  await tx.putRecord('tasks', record('new'));
  await tx.putRecord('notes', tombstone('note'));
  await tx.appendEvent(event('e-c'));
  await tx.setEventStatus(['e-b', 'e-c'], 'ok');
  await tx.setEventStatus(['e-a'], 'failed');
  await tx.setMeta('cursor', '42');
  await tx.setMeta('client', undefined);
  await tx.setMeta('fresh', 'yes');
}

export function describeTransactions(harness: StorageHarness): void {
  describe('transactions', () => {
    beforeEach(async () => {
      await harness.open();
      await seedBefore(harness.adapter);
    });

    it('keeps every write of a committed transaction and returns its result', async () => {
      const result = await harness.adapter.transaction(async (tx) => {
        await writeEverything(tx);
        return 'done';
      });
      expect(result).toBe('done');
      const after = await snapshot(harness.adapter);
      expect(after.records).toStrictEqual([
        record('gone', { v: 'revived' }, 5),
        record('kept', { v: 3 }, 4),
        record('new'),
      ]);
      expect(after.other).toStrictEqual([tombstone('note')]);
      expect(eventIds(after.events)).toEqual(['e-b', 'e-a', 'e-c']);
      expect(after.events.map((item) => item.syncStatus)).toEqual(['ok', 'failed', 'ok']);
      expect([after.cursor, after.client, after.fresh]).toEqual(['42', undefined, 'yes']);
    });

    it('leaves nothing behind when the work throws midway, and re-throws that error', async () => {
      const before = await snapshot(harness.adapter);
      const thrown = new AbortWork('stop here');
      const error = await rejection(
        harness.adapter.transaction(async (tx) => {
          await writeEverything(tx);
          throw thrown;
        }),
      );
      expect(error).toBe(thrown);
      expect(await snapshot(harness.adapter)).toStrictEqual(before);
      expect(await harness.adapter.hasEvent('e-c')).toBe(false);
      expect(await harness.adapter.getRecord('tasks', 'new')).toBeUndefined();
      expect(await harness.adapter.getRecord('notes', 'note')).toBeUndefined();
    });

    it('rolls back when the adapter itself fails inside, with that error code', async () => {
      const before = await snapshot(harness.adapter);
      await expectCode(
        harness.adapter.transaction(async (tx) => {
          await tx.putRecord('tasks', record('new'));
          await tx.setMeta('cursor', '99');
          await tx.appendEvent(event('e-c'));
          await tx.appendEvent(event('e-a'));
        }),
        ERROR_CODES.duplicateEvent,
      );
      expect(await snapshot(harness.adapter)).toStrictEqual(before);
    });

    it('lets an event id of a rolled-back transaction be appended afterwards', async () => {
      await rejection(
        harness.adapter.transaction(async (tx) => {
          await tx.appendEvent(event('e-c', { dataId: 'first' }));
          throw new AbortWork();
        }),
      );
      const second = event('e-c', { dataId: 'second' });
      await harness.adapter.appendEvent(second);
      expect(await harness.adapter.getEvent('e-c')).toStrictEqual(second);
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['e-b', 'e-a', 'e-c']);
    });

    it('sees its own writes inside, before it commits', async () => {
      await harness.adapter.transaction(async (tx) => {
        await writeEverything(tx);
        expect(await tx.getRecord('tasks', 'kept')).toStrictEqual(record('kept', { v: 3 }, 4));
        expect(
          await queryIds(tx, 'tasks', spec([{ field: 'v', op: '==', value: 'revived' }])),
        ).toEqual(['gone']);
        expect(await queryIds(tx, 'tasks', spec())).toEqual(['gone', 'kept', 'new']);
        expect(await tx.getEvent('e-c')).toStrictEqual(event('e-c', { syncStatus: 'ok' }));
        expect(await tx.hasEvent('e-c')).toBe(true);
        expect(eventIds(await tx.getEvents({ status: 'ok' }))).toEqual(['e-b', 'e-c']);
        expect(await tx.getMeta('cursor')).toBe('42');
        expect(await tx.getMeta('client')).toBeUndefined();
        await expectCode(tx.appendEvent(event('e-c')), ERROR_CODES.duplicateEvent);
      });
    });

    it('never interleaves two transactions started together', async () => {
      await harness.adapter.setMeta('counter', '0');
      const trace: string[] = [];
      const increment = (name: string) =>
        harness.adapter.transaction(async (tx) => {
          trace.push(`${name} start`);
          const value = Number(await tx.getMeta('counter'));
          // Give the other transaction every chance to run between the read and the write.
          await tx.getRecord('tasks', 'kept');
          await tx.getEvents();
          await Promise.resolve();
          await tx.setMeta('counter', String(value + 1));
          await tx.putRecord('tasks', record(`by-${name}`, { value }));
          trace.push(`${name} end`);
          return value;
        });
      const seen = await Promise.all([increment('one'), increment('two')]);
      expect(await harness.adapter.getMeta('counter')).toBe('2');
      expect([...seen].sort()).toEqual([0, 1]);
      // Either may go first; what matters is that one ends before the other starts.
      expect([
        ['one start', 'one end', 'two start', 'two end'],
        ['two start', 'two end', 'one start', 'one end'],
      ]).toContainEqual(trace);
    });

    it('counts exactly under ten concurrent read-modify-write transactions, one failing', async () => {
      await harness.adapter.setMeta('counter', '0');
      const runs = Array.from({ length: 10 }, (_, index) =>
        harness.adapter.transaction(async (tx) => {
          const value = Number(await tx.getMeta('counter'));
          await Promise.resolve();
          await tx.setMeta('counter', String(value + 1));
          if (index === 4) throw new AbortWork('the fifth one fails');
        }),
      );
      const outcomes = await Promise.allSettled(runs);
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1);
      expect(await harness.adapter.getMeta('counter')).toBe('9');
    });

    it('refuses, with closed, a transaction view used after its transaction ended (StorageAdapter.transaction rule 2)', async () => {
      let leaked: StorageTransaction | undefined;
      await harness.adapter.transaction(async (tx) => {
        leaked = tx;
      });
      await expectCode(leaked!.putRecord('tasks', record('late')), ERROR_CODES.closed);
      await expectCode(leaked!.setMeta('late', 'x'), ERROR_CODES.closed);
      await expectCode(leaked!.getRecord('tasks', 'kept'), ERROR_CODES.closed);
      expect(await harness.adapter.getRecord('tasks', 'late')).toBeUndefined();
      expect(await harness.adapter.getMeta('late')).toBeUndefined();

      let failed: StorageTransaction | undefined;
      await rejection(
        harness.adapter.transaction(async (tx) => {
          failed = tx;
          throw new AbortWork();
        }),
      );
      await expectCode(failed!.appendEvent(event('late')), ERROR_CODES.closed);
      expect(await harness.adapter.hasEvent('late')).toBe(false);
    });
  });
}

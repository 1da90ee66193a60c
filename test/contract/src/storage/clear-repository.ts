import type { StorageAdapter, StoredEvent } from '@local-first/core';
import type { StorageReader } from '@local-first/core/adapter';
import { beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { event, eventIds, queryIds, record, rejection, spec, tombstone } from './fixtures.js';
import type { StorageHarness } from './harness.js';

const ALL = spec([], [], { includeDeleted: true });

/** The log of the fixture: `tasks` and `notes` interleaved, with every status. */
const LOG: readonly StoredEvent[] = [
  event('t-1'),
  event('n-1', { repository: 'notes', dataId: 'n' }),
  event('t-2', { syncStatus: 'ok', local: false, serverSequence: 7 }),
  event('n-2', { repository: 'notes', dataId: 'n', syncStatus: 'ok' }),
  event('t-3', { syncStatus: 'failed' }),
  event('n-3', { repository: 'notes', dataId: 'm' }),
];
const TASK_EVENTS = ['t-1', 't-2', 't-3'];
const NOTE_EVENTS = ['n-1', 'n-2', 'n-3'];

/** Two repositories with records, a tombstone, events of each status, and meta. */
async function fill(adapter: StorageAdapter): Promise<void> {
  await adapter.putRecord('tasks', record('a', { title: 'task a' }));
  await adapter.putRecord('tasks', tombstone('b'));
  await adapter.putRecord('notes', record('a', { title: 'note a' }));
  await adapter.putRecord('notes', tombstone('z'));
  for (const item of LOG) await adapter.appendEvent(item);
  await adapter.setMeta('cursor:tasks', '7');
  await adapter.setMeta('cursor:notes', '3');
}

/** Everything stored of one repository. */
async function contents(reader: StorageReader, repository: string) {
  return {
    records: await reader.queryRecords(repository, ALL),
    events: eventIds(await reader.getEvents({ repository })),
    pending: eventIds(await reader.getEvents({ repository, status: 'pending' })),
  };
}

async function expectTasksGone(reader: StorageReader): Promise<void> {
  expect(await contents(reader, 'tasks')).toEqual({ records: [], events: [], pending: [] });
  expect(await reader.getRecord('tasks', 'a')).toBeUndefined();
  expect(await reader.getRecord('tasks', 'b')).toBeUndefined();
  for (const eventId of TASK_EVENTS) {
    expect(await reader.getEvent(eventId)).toBeUndefined();
    expect(await reader.hasEvent(eventId)).toBe(false);
  }
}

async function expectNotesKept(reader: StorageReader): Promise<void> {
  expect(await contents(reader, 'notes')).toEqual({
    records: [record('a', { title: 'note a' }), tombstone('z')],
    events: NOTE_EVENTS,
    pending: ['n-1', 'n-3'],
  });
  expect(eventIds(await reader.getEvents())).toEqual(NOTE_EVENTS);
  expect(await reader.getMeta('cursor:tasks')).toBe('7');
  expect(await reader.getMeta('cursor:notes')).toBe('3');
}

export function describeClearRepository(harness: StorageHarness): void {
  describe('clearRepository', () => {
    beforeEach(async () => {
      await harness.open();
      await fill(harness.adapter);
    });

    it('deletes the records, tombstones and events of one repository and nothing else', async () => {
      await harness.adapter.clearRepository('tasks');
      await expectTasksGone(harness.adapter);
      await expectNotesKept(harness.adapter);
      const batch = harness.adapter.getRecords;
      if (batch) expect((await batch.call(harness.adapter, 'tasks', ['a', 'b'])).size).toBe(0);
    });

    it('takes the events out of the log but keeps the order and statuses of the rest', async () => {
      await harness.adapter.clearRepository('tasks');
      await harness.adapter.appendEvent(event('n-4', { repository: 'notes', dataId: 'n' }));
      await harness.adapter.setEventStatus(['n-1'], 'ok');
      await harness.adapter.setEventStatus(['n-2'], 'pending');
      expect(eventIds(await harness.adapter.getEvents())).toEqual([...NOTE_EVENTS, 'n-4']);
      expect(eventIds(await harness.adapter.getEvents({ status: 'pending' }))).toEqual([
        'n-2',
        'n-3',
        'n-4',
      ]);
      expect(eventIds(await harness.adapter.getEvents({ limit: 2 }))).toEqual(['n-1', 'n-2']);
    });

    it('stores the same records and events again afterwards, as if never written', async () => {
      await harness.adapter.clearRepository('tasks');
      for (const item of LOG.filter((candidate) => candidate.repository === 'tasks'))
        await harness.adapter.appendEvent(item);
      await harness.adapter.putRecord('tasks', record('a', { title: 'again' }));
      expect(await contents(harness.adapter, 'tasks')).toEqual({
        records: [record('a', { title: 'again' })],
        events: TASK_EVENTS,
        pending: ['t-1'],
      });
      expect(eventIds(await harness.adapter.getEvents())).toEqual([...NOTE_EVENTS, ...TASK_EVENTS]);
    });

    it('leaves the same repository of other namespaces untouched', async () => {
      await harness.adapter.useNamespace('alice');
      await fill(harness.adapter);
      await harness.adapter.clearRepository('tasks');
      await expectTasksGone(harness.adapter);
      await harness.adapter.useNamespace('bob');
      await harness.adapter.clearRepository('notes');
      await harness.adapter.useNamespace('alice');
      await expectNotesKept(harness.adapter);
      await harness.adapter.useNamespace('default');
      expect(eventIds(await harness.adapter.getEvents())).toEqual(eventIds(LOG));
      expect(await queryIds(harness.adapter, 'tasks', ALL)).toEqual(['a', 'b']);
    });

    it('runs inside a transaction, with a cursor removed in the same one', async () => {
      await harness.adapter.transaction(async (tx) => {
        await tx.clearRepository('tasks');
        await tx.setMeta('cursor:tasks', undefined);
        // Inside the transaction its own reads see the repository gone.
        expect(await contents(tx, 'tasks')).toEqual({ records: [], events: [], pending: [] });
        await tx.appendEvent(event('t-1', { syncStatus: 'ok' }));
      });
      expect(await contents(harness.adapter, 'tasks')).toEqual({
        records: [],
        events: ['t-1'],
        pending: [],
      });
      expect(await harness.adapter.getMeta('cursor:tasks')).toBeUndefined();
      expect(await harness.adapter.getMeta('cursor:notes')).toBe('3');
    });

    it('keeps everything when the transaction that cleared fails', async () => {
      const failure = new Error('abort');
      const outcome = await rejection(
        harness.adapter.transaction(async (tx) => {
          await tx.clearRepository('tasks');
          await tx.setMeta('cursor:tasks', undefined);
          await tx.appendEvent(event('t-new'));
          throw failure;
        }),
      );
      expect(outcome).toBe(failure);
      expect(await contents(harness.adapter, 'tasks')).toEqual({
        records: [record('a', { title: 'task a' }), tombstone('b')],
        events: TASK_EVENTS,
        pending: ['t-1'],
      });
      expect(eventIds(await harness.adapter.getEvents())).toEqual(eventIds(LOG));
      expect(await harness.adapter.getEvent('t-2')).toStrictEqual(LOG[2]);
      expect(await harness.adapter.getMeta('cursor:tasks')).toBe('7');
    });

    it('changes nothing for a repository that holds nothing', async () => {
      await harness.adapter.clearRepository('never-written');
      expect(eventIds(await harness.adapter.getEvents())).toEqual(eventIds(LOG));
      expect(await queryIds(harness.adapter, 'tasks', ALL)).toEqual(['a', 'b']);
    });

    it('stays cleared after close and reopen', async (context: TestContext) => {
      if (!harness.adapter.capabilities.persistent)
        context.skip('the adapter declares capabilities.persistent = false');
      await harness.adapter.clearRepository('tasks');
      const adapter = await harness.reopen();
      await expectTasksGone(adapter);
      await expectNotesKept(adapter);
    });
  });
}

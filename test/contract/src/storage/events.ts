import { ERROR_CODES, type StoredEvent, SyncOperation } from '@local-first/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { appendAll, event, eventIds, expectCode, stamp } from './fixtures.js';
import type { StorageHarness } from './harness.js';

/**
 * A log appended in an order that neither the eventIds, the timestamps nor the stamps follow,
 * so an adapter that sorts by any of them instead of keeping append order fails. Built anew
 * for every use, so an adapter that keeps the caller's objects cannot leak into other tests.
 */
const log = (): StoredEvent[] => [
  event('e-3', { repository: 'tasks', createdAt: '2024-05-03T00:00:00.000Z', hlc: stamp(3) }),
  event('e-1', { repository: 'notes', createdAt: '2024-05-01T00:00:00.000Z', hlc: stamp(1) }),
  event('e-5', {
    repository: 'tasks',
    createdAt: '2024-05-05T00:00:00.000Z',
    hlc: stamp(5),
    syncStatus: 'ok',
    local: false,
    serverSequence: 17,
    serverCreatedAt: '2024-05-05T00:00:01.000Z',
  }),
  event('e-2', { repository: 'tasks', createdAt: '2024-05-02T00:00:00.000Z', hlc: stamp(2) }),
  event('e-4', {
    repository: 'notes',
    createdAt: '2024-04-30T00:00:00.000Z',
    hlc: stamp(4),
    syncStatus: 'failed',
  }),
  event('e-0', { repository: 'tasks', createdAt: '2024-05-06T00:00:00.000Z', hlc: stamp(0) }),
];
const APPEND_ORDER = ['e-3', 'e-1', 'e-5', 'e-2', 'e-4', 'e-0'];

export function describeEvents(harness: StorageHarness): void {
  describe('event log', () => {
    beforeEach(() => harness.open());

    it('stores an event and reads it back by id with every field', async () => {
      const stored = log()[2]!;
      await harness.adapter.appendEvent(stored);
      expect(await harness.adapter.getEvent('e-5')).toStrictEqual(stored);
      expect(await harness.adapter.hasEvent('e-5')).toBe(true);
    });

    it('answers undefined and false for an event that is not in the log', async () => {
      await harness.adapter.appendEvent(event('e-1'));
      expect(await harness.adapter.getEvent('e-2')).toBeUndefined();
      expect(await harness.adapter.hasEvent('e-2')).toBe(false);
      expect(await harness.adapter.hasEvent('e-')).toBe(false);
    });

    it('keeps optional fields absent and delete events with data null', async () => {
      const { hlc: _hlc, ...seedEra } = event('old', { dataId: 'task-9' });
      const removal = event('del', {
        operation: SyncOperation.delete,
        dataId: 'task-9',
        data: null,
        syncStatus: 'ok',
        local: false,
      });
      await appendAll(harness.adapter, [seedEra, removal]);
      const readBack = await harness.adapter.getEvent('old');
      expect(readBack).toStrictEqual(seedEra);
      expect(readBack).not.toHaveProperty('hlc');
      expect(readBack).not.toHaveProperty('serverSequence');
      expect(await harness.adapter.getEvent('del')).toStrictEqual(removal);
    });

    it('rejects a second event with the same id with duplicate_event and keeps the first', async () => {
      const first = event('e-1', { data: { id: 'task-1', title: 'first' } });
      await harness.adapter.appendEvent(first);
      await expectCode(
        harness.adapter.appendEvent(event('e-1', { data: { id: 'task-1', title: 'second' } })),
        ERROR_CODES.duplicateEvent,
      );
      await expectCode(
        harness.adapter.appendEvent(event('e-1', { repository: 'notes' })),
        ERROR_CODES.duplicateEvent,
      );
      expect(await harness.adapter.getEvent('e-1')).toStrictEqual(first);
      expect(eventIds(await harness.adapter.getEvents())).toEqual(['e-1']);
    });

    it('keeps nothing of an event object mutated after appendEvent', async () => {
      const stored = event('e-1');
      const expected = structuredClone(stored);
      await harness.adapter.appendEvent(stored);
      stored.syncStatus = 'ok';
      stored.data!.title = 'mutated';
      expect(await harness.adapter.getEvent('e-1')).toStrictEqual(expected);
    });

    it('returns copies from getEvent and getEvents', async () => {
      await harness.adapter.appendEvent(event('e-1'));
      const one = (await harness.adapter.getEvent('e-1'))!;
      one.syncStatus = 'failed';
      one.data!.title = 'mutated';
      const [listed] = await harness.adapter.getEvents();
      listed!.syncStatus = 'ok';
      listed!.data!.title = 'mutated too';
      expect(await harness.adapter.getEvent('e-1')).toStrictEqual(event('e-1'));
      expect(await harness.adapter.getEvents()).toStrictEqual([event('e-1')]);
    });

    describe('getEvents', () => {
      beforeEach(() => appendAll(harness.adapter, log()));

      it('returns the whole log in append order, not by id or time', async () => {
        const all = await harness.adapter.getEvents();
        expect(eventIds(all)).toEqual(APPEND_ORDER);
        expect(all).toStrictEqual(log());
        expect(eventIds(await harness.adapter.getEvents({}))).toEqual(APPEND_ORDER);
      });

      it('filters by repository', async () => {
        const tasks = await harness.adapter.getEvents({ repository: 'tasks' });
        expect(eventIds(tasks)).toEqual(['e-3', 'e-5', 'e-2', 'e-0']);
        expect(eventIds(await harness.adapter.getEvents({ repository: 'notes' }))).toEqual([
          'e-1',
          'e-4',
        ]);
        expect(await harness.adapter.getEvents({ repository: 'task' })).toEqual([]);
      });

      it('filters by status', async () => {
        const pending = await harness.adapter.getEvents({ status: 'pending' });
        expect(eventIds(pending)).toEqual(['e-3', 'e-1', 'e-2', 'e-0']);
        expect(eventIds(await harness.adapter.getEvents({ status: 'ok' }))).toEqual(['e-5']);
        expect(eventIds(await harness.adapter.getEvents({ status: 'failed' }))).toEqual(['e-4']);
      });

      it('limits after filtering, keeping the first events of the log', async () => {
        expect(eventIds(await harness.adapter.getEvents({ limit: 2 }))).toEqual(['e-3', 'e-1']);
        expect(eventIds(await harness.adapter.getEvents({ limit: 0 }))).toEqual([]);
        expect(eventIds(await harness.adapter.getEvents({ limit: 100 }))).toEqual(APPEND_ORDER);
        const query = { repository: 'tasks', status: 'pending', limit: 2 } as const;
        expect(eventIds(await harness.adapter.getEvents(query))).toEqual(['e-3', 'e-2']);
      });

      it('keeps pending events in creation order as their neighbours change status', async () => {
        await harness.adapter.setEventStatus(['e-1'], 'ok');
        await harness.adapter.appendEvent(event('e-00'));
        const pending = await harness.adapter.getEvents({ status: 'pending' });
        expect(eventIds(pending)).toEqual(['e-3', 'e-2', 'e-0', 'e-00']);
        expect(eventIds(await harness.adapter.getEvents())).toEqual([...APPEND_ORDER, 'e-00']);
      });
    });

    describe('setEventStatus', () => {
      beforeEach(() => appendAll(harness.adapter, log()));

      it('marks events ok or failed and changes nothing else', async () => {
        await harness.adapter.setEventStatus(['e-3', 'e-2'], 'ok');
        await harness.adapter.setEventStatus(['e-1'], 'failed');
        expect(await harness.adapter.getEvent('e-3')).toStrictEqual({
          ...log()[0],
          syncStatus: 'ok',
        });
        expect((await harness.adapter.getEvent('e-1'))?.syncStatus).toBe('failed');
        expect(eventIds(await harness.adapter.getEvents({ status: 'pending' }))).toEqual(['e-0']);
        expect(eventIds(await harness.adapter.getEvents())).toEqual(APPEND_ORDER);
      });

      it('can set a status back to pending', async () => {
        await harness.adapter.setEventStatus(['e-5', 'e-4'], 'pending');
        const pending = await harness.adapter.getEvents({ status: 'pending' });
        expect(eventIds(pending)).toEqual(APPEND_ORDER);
      });

      it('ignores unknown ids and an empty list', async () => {
        await harness.adapter.setEventStatus(['nope', 'e-3', 'e-33'], 'ok');
        await harness.adapter.setEventStatus([], 'failed');
        expect(await harness.adapter.hasEvent('nope')).toBe(false);
        expect(await harness.adapter.getEvent('e-33')).toBeUndefined();
        expect((await harness.adapter.getEvent('e-3'))?.syncStatus).toBe('ok');
        expect(eventIds(await harness.adapter.getEvents())).toEqual(APPEND_ORDER);
      });
    });
  });
}

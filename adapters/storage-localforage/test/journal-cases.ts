import type { StorageAdapter, StoredEvent, StoredRecord } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { JOURNAL_KEY, LocalForageStorageAdapter } from '../src/index.js';
import { type Faults, FaultyStore } from './faulty-store.js';

const ALL = { where: [], orderBy: [], includeDeleted: true };

function record(id: string, version: number): StoredRecord {
  return {
    id,
    data: { id, version },
    deleted: false,
    hlc: `h${version}`,
    eventId: `evt-${id}-${version}`,
  };
}

function event(eventId: string, syncStatus: StoredEvent['syncStatus']): StoredEvent {
  return {
    eventId,
    repository: 'tasks',
    operation: 0,
    createdAt: '2024-05-01T00:00:00.000Z',
    dataId: eventId,
    data: { id: eventId },
    syncStatus,
    local: true,
  };
}

async function seed(adapter: StorageAdapter): Promise<void> {
  await adapter.putRecord('tasks', record('a', 1));
  await adapter.putRecord('tasks', record('b', 1));
  await adapter.appendEvent(event('e1', 'pending'));
  await adapter.appendEvent(event('e2', 'ok'));
  await adapter.setMeta('cursor', '1');
}

/** A remote batch: records, events, statuses and the cursor, changing a dozen keys at once. */
function batch(adapter: StorageAdapter): Promise<void> {
  return adapter.transaction(async (tx) => {
    await tx.putRecord('tasks', record('a', 2));
    await tx.putRecord('tasks', record('c', 1));
    await tx.appendEvent(event('e3', 'ok'));
    await tx.appendEvent(event('e4', 'pending'));
    await tx.setEventStatus(['e1'], 'ok');
    await tx.setMeta('cursor', '2');
  });
}

async function snapshot(adapter: StorageAdapter) {
  return {
    records: await adapter.queryRecords('tasks', ALL),
    events: await adapter.getEvents(),
    pending: (await adapter.getEvents({ status: 'pending' })).map((item) => item.eventId),
    cursor: await adapter.getMeta('cursor'),
  };
}

let names = 0;

/**
 * Failure injection in the middle of a commit, and a reopen after it, on every driver of the
 * given localforage: the data must be entirely as before the transaction or as after it.
 */
export function describeJournal(localforage: LocalForage): void {
  for (const driver of [localforage.INDEXEDDB, localforage.LOCALSTORAGE]) {
    describe(`all-or-nothing commits on ${driver}`, () => {
      /** A seeded store, and a way to open adapters over it with or without faults. */
      async function fixture() {
        const name = `journal-${++names}`;
        const instance = () => localforage.createInstance({ name, storeName: 'kv', driver });
        const open = async (faults?: Faults) => {
          const store = new FaultyStore(instance(), faults);
          // A process that dies frees its Web Lock; an adapter abandoned here would keep it.
          const adapter = new LocalForageStorageAdapter({
            localforage: store,
            writer: { locks: null },
          });
          await adapter.open();
          return { adapter, store };
        };
        const seeded = await open();
        await seed(seeded.adapter);
        const before = await snapshot(seeded.adapter);
        await seeded.adapter.close();
        return { open, before, drop: () => instance().dropInstance({ name }) };
      }

      /** The state after the batch, and how many setItem calls its commit makes. */
      async function expected() {
        const { open, drop } = await fixture();
        const { adapter, store } = await open();
        const start = store.setCalls;
        await batch(adapter);
        const calls = store.setCalls - start;
        const after = await snapshot(adapter);
        await adapter.close();
        await drop();
        return { after, calls };
      }

      it('journals a multi-key commit: one journal write, then the changes', async () => {
        const { calls } = await expected();
        // The journal, then one write per changed key: 2 records, 1 id page, 1 id head,
        // 2 events, 1 log page, 1 log head, e1's new status, 1 meta value.
        expect(calls).toBe(11);
      });

      it('keeps the state of before or of after when setItem #N throws, N = 1 … all', async () => {
        const { after, calls } = await expected();
        for (let failAt = 1; failAt <= calls + 1; failAt++) {
          const { open, before, drop } = await fixture();
          const { adapter } = await open({ failSetAt: failAt });
          const outcome = await batch(adapter).then(
            () => 'committed',
            (error: unknown) => error,
          );
          const expectedState = failAt > calls ? after : before;
          if (failAt <= calls)
            expect(outcome, `N=${failAt}`).toMatchObject({ code: 'storage_failure' });
          else expect(outcome).toBe('committed');
          expect(await snapshot(adapter), `in session, N=${failAt}`).toStrictEqual(expectedState);
          await adapter.close();
          const reopened = await open();
          expect(await snapshot(reopened.adapter), `after reopen, N=${failAt}`).toStrictEqual(
            expectedState,
          );
          expect(await reopened.store.getItem(JOURNAL_KEY)).toBeNull();
          if (failAt <= calls) {
            // The same batch goes through once the store behaves.
            await batch(reopened.adapter);
            expect(await snapshot(reopened.adapter)).toStrictEqual(after);
          }
          await reopened.adapter.close();
          await drop();
        }
      });

      it('rolls back on reopen when every write fails from setItem #N on (a lost disk)', async () => {
        const { calls } = await expected();
        for (let failAt = 1; failAt <= calls; failAt++) {
          const { open, before, drop } = await fixture();
          const { adapter } = await open({ failSetAt: failAt, sticky: true });
          await expect(batch(adapter)).rejects.toMatchObject({ code: 'storage_failure' });
          // The undo could not be written either: the adapter refuses to serve a half state.
          await expect(snapshot(adapter)).rejects.toMatchObject({ code: 'storage_failure' });
          await adapter.close();
          const reopened = await open();
          expect(await snapshot(reopened.adapter), `N=${failAt}`).toStrictEqual(before);
          await reopened.adapter.close();
          await drop();
        }
      });

      it('rolls back on reopen when the process dies during setItem #N', async () => {
        const { calls } = await expected();
        for (let hangAt = 1; hangAt <= calls; hangAt++) {
          const { open, before, drop } = await fixture();
          const { adapter } = await open({ hangSetAt: hangAt });
          // Never settles: the adapter is abandoned mid-commit, as a killed tab would leave it.
          void batch(adapter);
          const reopened = await open();
          expect(await snapshot(reopened.adapter), `N=${hangAt}`).toStrictEqual(before);
          await reopened.adapter.close();
          await drop();
        }
      });

      it('rolls back when removing the journal, the commit point, fails', async () => {
        const { open, before, drop } = await fixture();
        const { adapter } = await open({ failRemoveAt: 1 });
        await expect(batch(adapter)).rejects.toMatchObject({ code: 'storage_failure' });
        expect(await snapshot(adapter)).toStrictEqual(before);
        await adapter.close();
        const reopened = await open();
        expect(await snapshot(reopened.adapter)).toStrictEqual(before);
        await reopened.adapter.close();
        await drop();
      });

      it('refuses to open over a journal it cannot read', async () => {
        const name = `journal-garbage-${++names}`;
        const instance = localforage.createInstance({ name, storeName: 'kv', driver });
        await instance.setItem(JOURNAL_KEY, { version: 7, before: 'no' });
        const adapter = new LocalForageStorageAdapter({ localforage: instance });
        await expect(adapter.open()).rejects.toMatchObject({ code: 'storage_failure' });
        await instance.dropInstance({ name });
      });
    });
  }
}

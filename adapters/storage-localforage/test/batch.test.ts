import './node-globals.js';
import type { StorageAdapter, StoredEvent, StoredRecord } from '@local-first/core';
import localforage from 'localforage';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalForageStorageAdapter } from '../src/index.js';
import { keys } from '../src/keys.js';
import { type Faults, FaultyStore } from './faulty-store.js';

// The batch methods beyond what the contract suite checks: the index pages they write must be
// exactly those the single calls write, across page boundaries, and a failed commit keeps
// nothing of a batch.

function record(id: string, version = 1): StoredRecord {
  return { id, data: { id, version }, deleted: false, hlc: `h-${version}`, eventId: `evt-${id}` };
}

function event(eventId: string, syncStatus: StoredEvent['syncStatus']): StoredEvent {
  return {
    eventId,
    repository: eventId.startsWith('n') ? 'notes' : 'tasks',
    operation: 0,
    createdAt: '2024-05-01T00:00:00.000Z',
    dataId: eventId,
    data: { id: eventId },
    syncStatus,
    local: syncStatus === 'pending',
  };
}

const PAGE = 8;
let names = 0;
const dropped: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const drop of dropped.splice(0)) await drop();
});

async function openStore(faults: Faults = {}) {
  const name = `batch-${++names}`;
  const instance = localforage.createInstance({ name, storeName: 'kv' });
  dropped.push(() => instance.dropInstance({ name }));
  const store = new FaultyStore(instance, faults);
  const adapter = new LocalForageStorageAdapter({ localforage: store, indexPageSize: PAGE });
  await adapter.open();
  return { adapter, instance, store };
}

/** Every index key the writes below can touch, with what the store holds under it. */
async function indexKeys(instance: LocalForage) {
  const names = [keys.logHead('default'), keys.idHead('default', 'tasks')];
  for (let page = 0; page < 6; page++) {
    names.push(keys.logPage('default', page), keys.idPage('default', 'tasks', page));
  }
  return Object.fromEntries(
    await Promise.all(names.map(async (key) => [key, await instance.getItem(key)] as const)),
  );
}

/** A log and id index that already fill part of a page, as the batches find them. */
async function seed(adapter: StorageAdapter) {
  for (const id of ['e-0', 'e-1', 'n-2']) await adapter.appendEvent(event(id, 'ok'));
  for (const id of ['r-0', 'r-1', 'r-2']) await adapter.putRecord('tasks', record(id));
}

const events = Array.from({ length: 21 }, (_, index) =>
  event(`${index % 4 ? 'e' : 'n'}-${index + 3}`, index > 12 && index < 17 ? 'pending' : 'ok'),
);
const records = [
  ...Array.from({ length: 15 }, (_, index) => record(`r-${index + 1}`, 2)),
  record('r-4', 3),
  record('r-20', 3),
];

describe('localforage batch methods', () => {
  it('write the same index pages as the single calls, across page boundaries', async () => {
    const single = await openStore();
    await seed(single.adapter);
    for (const item of events) await single.adapter.appendEvent(item);
    for (const item of records) await single.adapter.putRecord('tasks', item);

    const batch = await openStore();
    await seed(batch.adapter);
    await batch.adapter.appendEvents(events);
    await batch.adapter.putRecords('tasks', records);

    expect(await indexKeys(batch.instance)).toStrictEqual(await indexKeys(single.instance));
    for (const adapter of [single.adapter, batch.adapter]) {
      expect((await adapter.getEvents({ status: 'pending' })).map((e) => e.eventId)).toEqual([
        'e-16',
        'e-17',
        'e-18',
        'n-19',
      ]);
      expect(await adapter.getRecord('tasks', 'r-4')).toStrictEqual(record('r-4', 3));
    }
    const all = await batch.adapter.queryRecords('tasks', { where: [], orderBy: [] });
    expect(all).toHaveLength(17);
    const statuses = await batch.adapter.getEventStatuses(events.map((item) => item.eventId));
    expect([...statuses.values()].filter((status) => status === 'pending')).toHaveLength(4);
  });

  it('keep nothing of a batch whose commit fails midway', async () => {
    const faults: Faults = {};
    const { adapter, instance, store } = await openStore(faults);
    await adapter.appendEvent(event('e-0', 'ok'));
    await adapter.putRecord('tasks', record('r-0'));
    const before = await indexKeys(instance);
    // The next call writes the journal, the one after it the first key; the third fails.
    faults.failSetAt = store.setCalls + 3;
    await expect(adapter.appendEvents(events)).rejects.toMatchObject({
      code: 'storage_failure',
    });
    expect(await indexKeys(instance)).toStrictEqual(before);
    expect((await adapter.getEvents()).map((item) => item.eventId)).toEqual(['e-0']);
    expect((await adapter.getEventStatuses(['e-3', 'n-4', 'e-0'])).size).toBe(1);
  });
});

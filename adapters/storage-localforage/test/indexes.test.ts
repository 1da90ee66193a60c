import './node-globals.js';
import {
  createLocalFirstContainer,
  type StorageAdapter,
  type StoredEvent,
  type StoredRecord,
  TOKENS,
} from '@local-first/core';
import localforage from 'localforage';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalForageStorageAdapter, localForageStorageModule } from '../src/index.js';
import { keys } from '../src/keys.js';
import { FaultyStore } from './faulty-store.js';

function record(id: string): StoredRecord {
  return { id, data: { id }, deleted: false, hlc: 'h', eventId: `evt-${id}` };
}

function event(eventId: string): StoredEvent {
  return {
    eventId,
    repository: 'tasks',
    operation: 0,
    createdAt: '2024-05-01T00:00:00.000Z',
    dataId: eventId,
    data: { id: eventId },
    syncStatus: 'pending',
    local: true,
  };
}

let names = 0;
const dropped: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const drop of dropped.splice(0)) await drop();
});

/** A fresh store; `adapter()` opens a new adapter over it whose reads are counted. */
function store(indexPageSize?: number) {
  const name = `indexes-${++names}`;
  const instance = () => localforage.createInstance({ name, storeName: 'kv' });
  dropped.push(() => instance().dropInstance({ name }));
  return async () => {
    const counted = new FaultyStore(instance());
    const adapter = new LocalForageStorageAdapter({
      localforage: counted,
      ...(indexPageSize === undefined ? {} : { indexPageSize }),
    });
    await adapter.open();
    return { adapter, reads: counted.reads };
  };
}

describe('keys', () => {
  it('never give two different names the same key, whatever separators they hold', () => {
    const names = ['a', 'ab', 'a:b', 'a/b', 'a%2Fb', 'a%b', '%', '/', ''];
    const seen = new Map<string, string>();
    for (const ns of names) {
      for (const repository of names) {
        for (const id of names) {
          const key = keys.record(ns, repository, id);
          const owner = JSON.stringify([ns, repository, id]);
          expect(seen.get(key) ?? owner, key).toBe(owner);
          seen.set(key, owner);
        }
      }
    }
    expect(keys.record('a', 'b/c', 'd')).not.toBe(keys.record('a/b', 'c', 'd'));
    expect(keys.meta('a', 'b/c')).not.toBe(keys.meta('a/b', 'c'));
  });
});

describe('reads that stay inside their index', () => {
  it('query one repository by reading its own keys only', async () => {
    const open = store();
    const first = await open();
    for (const repository of ['tasks', 'task', 'tasks2', 'tasks/x', 'notes']) {
      for (const id of ['1', '2', '3']) await first.adapter.putRecord(repository, record(id));
    }
    await first.adapter.close();

    const { adapter, reads } = await open();
    const found = await adapter.queryRecords('tasks', { where: [], orderBy: [] });
    expect(found.map((item) => item.id)).toEqual(['1', '2', '3']);
    expect(new Set(reads)).toEqual(
      new Set([
        'journal', // read once by open(), for crash recovery
        keys.idHead('default', 'tasks'),
        keys.idPage('default', 'tasks', 0),
        ...['1', '2', '3'].map((id) => keys.record('default', 'tasks', id)),
      ]),
    );
    await adapter.close();
  });

  it('read pending events in creation order from the pages that hold them, not the whole log', async () => {
    const open = store(16);
    const first = await open();
    const ids = Array.from({ length: 200 }, (_, index) => `e-${String(index).padStart(3, '0')}`);
    await first.adapter.transaction(async (tx) => {
      for (const id of ids) await tx.appendEvent(event(id));
    });
    const stillPending = ['e-005', 'e-100', 'e-199'];
    await first.adapter.setEventStatus(
      ids.filter((id) => !stillPending.includes(id)),
      'ok',
    );
    await first.adapter.close();

    const { adapter, reads } = await open();
    reads.length = 0;
    const pending = await adapter.getEvents({ status: 'pending' });
    expect(pending.map((item) => item.eventId)).toEqual(stillPending);
    // The log head, the three pages with pending events (0, 6 and 12 of 13) and the three events.
    expect(reads).toEqual([
      keys.logHead('default'),
      keys.logPage('default', 0),
      keys.logPage('default', 6),
      keys.logPage('default', 12),
      ...stillPending.map((id) => keys.event('default', id)),
    ]);
    expect(
      (await adapter.getEvents({ status: 'pending', limit: 1 })).map((e) => e.eventId),
    ).toEqual(['e-005']);
    await adapter.close();
  });
});

describe('options and dependency injection', () => {
  it('refuses a missing instance and a bad page size with invalid_argument', () => {
    const invalid = expect.objectContaining({ code: 'invalid_argument' });
    expect(
      () => new LocalForageStorageAdapter({ localforage: undefined as unknown as LocalForage }),
    ).toThrow(invalid);
    const instance = localforage.createInstance({ name: 'unused' });
    expect(
      () => new LocalForageStorageAdapter({ localforage: instance, indexPageSize: 0 }),
    ).toThrow(invalid);
  });

  it('binds one adapter for the container', () => {
    const instance = localforage.createInstance({ name: 'di' });
    const container = createLocalFirstContainer(
      localForageStorageModule({ localforage: instance }),
    );
    const adapter = container.get<StorageAdapter>(TOKENS.StorageAdapter);
    expect(adapter).toBeInstanceOf(LocalForageStorageAdapter);
    expect(adapter.capabilities).toEqual({ persistent: true, nativeQuery: false });
    expect(container.get<StorageAdapter>(TOKENS.StorageAdapter)).toBe(adapter);
  });
});

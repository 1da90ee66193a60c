import './node-globals.js';
import { ERROR_CODES, isLocalFirstError, type StoredRecord } from '@local-first/core';
import type { WriterLocks } from '@local-first/core/adapter';
import localforage from 'localforage';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalForageStorageAdapter, type LocalForageStorageOptions } from '../src/index.js';

function record(id: string): StoredRecord {
  return { id, data: { id }, deleted: false, hlc: `h-${id}`, eventId: `evt-${id}` };
}

/** Web Locks as a browser has them: exclusive, granted in request order, given up on abort. */
class Locks implements WriterLocks {
  private readonly held = new Set<string>();
  private readonly waiting: { name: string; grant: () => void }[] = [];

  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        this.held.add(name);
        callback({ name }).then(
          (value) => {
            this.held.delete(name);
            resolve(value);
            this.next(name);
          },
          (error: unknown) => {
            this.held.delete(name);
            reject(error);
            this.next(name);
          },
        );
      };
      if (!this.held.has(name)) return grant();
      const entry = { name, grant };
      this.waiting.push(entry);
      options.signal?.addEventListener('abort', () => {
        const at = this.waiting.indexOf(entry);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(new DOMException('aborted', 'AbortError'));
      });
    });
  }

  private next(name: string): void {
    const at = this.waiting.findIndex((entry) => entry.name === name);
    if (at >= 0) this.waiting.splice(at, 1)[0]!.grant();
  }
}

let names = 0;
const opened: LocalForageStorageAdapter[] = [];
afterEach(async () => {
  for (const adapter of opened.splice(0)) await adapter.close().catch(() => undefined);
});

function sharedStore(driver: string = localforage.INDEXEDDB) {
  const name = `writer-${++names}`;
  return localforage.createInstance({ name, storeName: 'kv', driver });
}

function adapterOver(store: LocalForage, writer: LocalForageStorageOptions['writer']) {
  const adapter = new LocalForageStorageAdapter({ localforage: store, writer });
  opened.push(adapter);
  return adapter;
}

/** Which of `wanted` the adapter holds. */
async function ids(adapter: LocalForageStorageAdapter, wanted: string[]): Promise<string[]> {
  const found = await Promise.all(wanted.map((id) => adapter.getRecord('tasks', id)));
  return wanted.filter((_, i) => found[i] !== undefined);
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLocalFirstError(error) ? error.code : String(error);
  }
  return 'not refused';
}

describe('a second writer of one store is refused', () => {
  it.each([
    ['IndexedDB, the mark checked in the commit transaction', localforage.INDEXEDDB],
    ['localStorage, the mark checked before the journal', localforage.LOCALSTORAGE],
  ])(
    'without Web Locks, the newer writer wins and an older one writes nothing more (%s)',
    async (_, driver) => {
      const store = sharedStore(driver);
      const older = adapterOver(store, { locks: null });
      await older.open();
      await older.putRecord('tasks', record('a'));
      const newer = adapterOver(store, { locks: null });
      await newer.open();

      expect(await refusal(older.putRecord('tasks', record('lost')))).toBe(
        ERROR_CODES.storageLocked,
      );
      expect(
        await refusal(older.transaction(async (tx) => tx.putRecord('tasks', record('lost-too')))),
      ).toBe(ERROR_CODES.storageLocked);
      await newer.putRecord('tasks', record('b'));
      expect(await ids(newer, ['a', 'b', 'lost', 'lost-too'])).toEqual(['a', 'b']);
    },
  );

  it('with Web Locks, a second open waits for the first writer, then is refused', async () => {
    const locks = new Locks();
    const store = sharedStore();
    const first = adapterOver(store, { locks });
    await first.open();
    const second = adapterOver(store, { locks, waitMs: 1 });
    expect(await refusal(second.open())).toBe(ERROR_CODES.storageLocked);
    await first.putRecord('tasks', record('a'));
  });

  it('with Web Locks, a writer that waits gets the store once the first one closes', async () => {
    const locks = new Locks();
    const store = sharedStore();
    const first = adapterOver(store, { locks });
    await first.open();
    await first.putRecord('tasks', record('a'));
    const second = adapterOver(store, { locks });
    const opening = second.open();
    await first.close();
    await opening;
    await second.putRecord('tasks', record('b'));
    expect(await ids(second, ['a', 'b'])).toEqual(['a', 'b']);
  });
});

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexedDbPersister } from '../src/index.js';

/** Opens the persister's database as another program would, and runs `work` on its store. */
function onStore<T>(
  indexedDB: IDBFactory,
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open('app');
    opening.onsuccess = () => {
      const db = opening.result;
      const request = work(db.transaction('sqljs', mode).objectStore('sqljs'));
      request.onsuccess = () => {
        db.close();
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    };
    opening.onerror = () => reject(opening.error);
  });
}

const keysOf = async (indexedDB: IDBFactory) =>
  (await onStore(indexedDB, 'readonly', (store) => store.getAllKeys())).map(String).sort();
const putRaw = (indexedDB: IDBFactory, key: string, value: unknown) =>
  onStore(indexedDB, 'readwrite', (store) => store.put(value, key));

import { NodeFilePersister } from '../src/node.js';

const BYTES = Uint8Array.from({ length: 4096 }, (_, index) => (index * 7) % 256);

describe('NodeFilePersister', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'lf-sqljs-file-'));
  });
  afterEach(() => rm(folder, { recursive: true, force: true }));

  it('loads undefined before the first save, then what was saved', async () => {
    const persister = new NodeFilePersister({ path: join(folder, 'db.sqlite') });
    expect(await persister.load()).toBeUndefined();
    await persister.save(BYTES);
    expect(new Uint8Array((await persister.load())!)).toEqual(BYTES);
    await persister.save(BYTES.subarray(0, 10));
    expect(new Uint8Array((await persister.load())!)).toEqual(BYTES.subarray(0, 10));
  });

  it('replaces the file by rename and leaves no temporary file behind', async () => {
    const path = join(folder, 'db.sqlite');
    // A temporary file from a crash in an earlier session is overwritten, not appended to.
    await writeFile(`${path}.tmp`, 'left over from a crash');
    await new NodeFilePersister({ path }).save(BYTES);
    expect(await readdir(folder)).toEqual(['db.sqlite']);
    expect(new Uint8Array(await readFile(path))).toEqual(BYTES);
  });

  it('creates a missing folder', async () => {
    const path = join(folder, 'nested', 'deeper', 'db.sqlite');
    await new NodeFilePersister({ path }).save(BYTES);
    expect(new Uint8Array(await readFile(path))).toEqual(BYTES);
  });

  it('refuses an empty path with invalid_argument', () => {
    expect(() => new NodeFilePersister({ path: '' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});

describe('IndexedDbPersister on fake-indexeddb', () => {
  it('loads undefined before the first save, then what was saved, across connections', async () => {
    const indexedDB = new IDBFactory();
    const first = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    expect(await first.load()).toBeUndefined();
    await first.save(BYTES);
    await first.close();
    const second = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    expect(await second.load()).toEqual(BYTES);
    await second.close();
  });

  it('refuses the save of a copy that another persister loaded after it: storage_locked', async () => {
    const indexedDB = new IDBFactory();
    const first = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    await first.load();
    await first.save(BYTES);
    // A second tab loads the file and holds its own copy from then on.
    const second = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    expect(await second.load()).toEqual(BYTES);
    await expect(first.save(BYTES.subarray(0, 2))).rejects.toMatchObject({
      code: 'storage_locked',
    });
    await second.save(BYTES.subarray(0, 4));
    expect(await second.load()).toEqual(BYTES.subarray(0, 4));
    await first.close();
    await second.close();
  });

  it('keeps a large file in chunks, drops the chunks a smaller one no longer needs, reads a whole one', async () => {
    const indexedDB = new IDBFactory();
    const large = new Uint8Array(16 * 2 + 5).map((_, i) => i % 251);
    const persister = new IndexedDbPersister({ databaseName: 'app', indexedDB, chunkBytes: 16 });
    await persister.load();
    await persister.save(large);
    expect(await keysOf(indexedDB)).toEqual([
      'database',
      'database:chunk:0',
      'database:chunk:1',
      'database:chunk:2',
      'database:writer',
    ]);
    const again = new IndexedDbPersister({ databaseName: 'app', indexedDB, chunkBytes: 16 });
    expect(await again.load()).toEqual(large);
    const small = BYTES.subarray(0, 10);
    await again.save(small);
    expect(await keysOf(indexedDB)).toEqual(['database', 'database:chunk:0', 'database:writer']);
    expect(await again.load()).toEqual(small);
    await persister.close();
    await again.close();
    // A file an earlier version saved whole, as one value under the key.
    await putRaw(indexedDB, 'database', BYTES.subarray(0, 3));
    const older = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    expect(await older.load()).toEqual(BYTES.subarray(0, 3));
    await older.close();
  });

  it('adds its object store to a database that already exists without it', async () => {
    const indexedDB = new IDBFactory();
    const one = new IndexedDbPersister({ databaseName: 'app', storeName: 'one', indexedDB });
    await one.save(BYTES);
    await one.close();
    const two = new IndexedDbPersister({ databaseName: 'app', storeName: 'two', indexedDB });
    await two.save(BYTES.subarray(0, 3));
    expect(await two.load()).toEqual(BYTES.subarray(0, 3));
    await two.close();
    const again = new IndexedDbPersister({ databaseName: 'app', storeName: 'one', indexedDB });
    expect(await again.load()).toEqual(BYTES);
    await again.close();
  });

  it('fails a save whose transaction is aborted with storage_failure', async () => {
    const indexedDB = new IDBFactory();
    const persister = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    await persister.save(BYTES);
    // Another part of the app (or the browser) aborts the transaction the save is in.
    const realOpen = indexedDB.open.bind(indexedDB);
    indexedDB.open = (...args: Parameters<IDBFactory['open']>) => {
      const opening = realOpen(...args);
      opening.addEventListener('success', () => {
        const db = opening.result;
        const transaction = db.transaction.bind(db);
        db.transaction = ((...parts: Parameters<IDBDatabase['transaction']>) => {
          const started = transaction(...parts);
          queueMicrotask(() => started.abort());
          return started;
        }) as IDBDatabase['transaction'];
      });
      return opening;
    };
    const aborted = new IndexedDbPersister({ databaseName: 'app', indexedDB });
    await expect(aborted.save(BYTES.subarray(0, 3))).rejects.toMatchObject({
      code: 'storage_failure',
    });
    await aborted.close();
    expect(await persister.load()).toEqual(BYTES);
    await persister.close();
  });

  it('refuses a missing database name with invalid_argument', () => {
    expect(() => new IndexedDbPersister({ databaseName: '', indexedDB: new IDBFactory() })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});

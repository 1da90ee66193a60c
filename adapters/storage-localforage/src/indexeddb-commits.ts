import { ERROR_CODES, LocalFirstError } from '@local-first/core';

/** A key a commit writes (`value`) or removes (`removed`). */
export interface CommitChange {
  key: string;
  value: unknown;
  removed: boolean;
}

/** The part of a localforage instance that tells where its IndexedDB driver keeps the data. */
interface LocalForageConfig {
  driver?(): string | null;
  config?(): { name?: unknown; storeName?: unknown } | undefined;
}

/**
 * The commits of a localforage store on its IndexedDB driver, made in one IndexedDB transaction
 * each instead of one per key: all or nothing by IndexedDB's own rule, so they need no journal,
 * and they cost one transaction however many keys they change. The keys and values are those
 * localforage reads back (it keeps them as they are in the object store `storeName` of the
 * database `name`). A writer's mark (see `JournaledStore.claim`) is checked in the same
 * transaction, so an older writer can never commit after a newer one claimed the store.
 */
export class IndexedDbCommits {
  private connection: Promise<IDBDatabase> | undefined;

  private constructor(
    private readonly factory: IDBFactory,
    private readonly name: string,
    private readonly storeName: string,
  ) {}

  /** The commits of `store`, when it runs on IndexedDB here; `undefined` otherwise. */
  static of(store: object): IndexedDbCommits | undefined {
    const { driver, config } = store as LocalForageConfig;
    const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory || typeof driver !== 'function' || typeof config !== 'function') return undefined;
    if (driver.call(store) !== 'asyncStorage') return undefined;
    const { name, storeName } = config.call(store) ?? {};
    if (typeof name !== 'string' || typeof storeName !== 'string') return undefined;
    return new IndexedDbCommits(factory, name, storeName);
  }

  /** Writes `changes` in one transaction; refused (`storage_locked`) when `owner` lost the mark. */
  async commit(changes: readonly CommitChange[], owner?: { key: string; token: string }) {
    const db = await this.database();
    const transaction = db.transaction(this.storeName, 'readwrite');
    const store = transaction.objectStore(this.storeName);
    let refused = false;
    const write = () => {
      for (const { key, value, removed } of changes) {
        if (removed) store.delete(key);
        else store.put(value, key);
      }
    };
    if (!owner) write();
    else {
      const mark = store.get(owner.key);
      mark.onsuccess = () => {
        if (mark.result === owner.token) return write();
        refused = true;
        transaction.abort();
      };
    }
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onabort = () =>
        reject(
          refused
            ? new LocalFirstError(
                ERROR_CODES.storageLocked,
                'another writer (another tab or window of this app) took this store over; nothing was written',
                { details: { key: owner?.key } },
              )
            : new LocalFirstError(
                ERROR_CODES.storageFailure,
                'localforage: the IndexedDB transaction of a commit was aborted; nothing was written',
                { cause: transaction.error },
              ),
        );
    });
  }

  /** Reads `keys` in one readonly transaction; `undefined` for a key that is absent. */
  async getMany(keys: readonly string[]): Promise<unknown[]> {
    const db = await this.database();
    const transaction = db.transaction(this.storeName, 'readonly');
    const store = transaction.objectStore(this.storeName);
    const values: unknown[] = new Array(keys.length);
    keys.forEach((key, index) => {
      const request = store.get(key);
      request.onsuccess = () => {
        values[index] = request.result ?? undefined;
      };
    });
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onabort = () =>
        reject(
          new LocalFirstError(ERROR_CODES.storageFailure, 'localforage: an IndexedDB read failed', {
            cause: transaction.error,
          }),
        );
    });
    return values;
  }

  /** Closes the connection of the commits (localforage keeps its own). */
  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    (await connection?.catch(() => undefined))?.close();
  }

  private database(): Promise<IDBDatabase> {
    this.connection ??= new Promise<IDBDatabase>((resolve, reject) => {
      // No version: the database as localforage made it, whatever version it is at.
      const opening = this.factory.open(this.name);
      opening.onsuccess = () => {
        const db = opening.result;
        // localforage upgrades the database to add a store of another instance: let it.
        db.onversionchange = () => {
          db.close();
          this.connection = undefined;
        };
        resolve(db);
      };
      opening.onerror = () => {
        this.connection = undefined;
        reject(
          new LocalFirstError(ERROR_CODES.storageFailure, 'localforage: IndexedDB did not open', {
            cause: opening.error,
          }),
        );
      };
    });
    return this.connection;
  }
}

import { ERROR_CODES, LocalFirstError, uuidv7 } from '@local-first/core';
import type { Persister } from './types.js';

/** The object store that holds the database file, unless the options name another. */
export const DEFAULT_STORE_NAME = 'sqljs';
/** The key of the database file in its object store, unless the options name another. */
export const DEFAULT_KEY = 'database';

/** Options of `IndexedDbPersister`. */
export interface IndexedDbPersisterOptions {
  /** The IndexedDB database to keep the file in; one per app (or per app and user). */
  databaseName: string;
  /** Default `DEFAULT_STORE_NAME`. */
  storeName?: string;
  /** Default `DEFAULT_KEY`. */
  key?: string;
  /** The IndexedDB factory. Default: the global `indexedDB` of the browser. */
  indexedDB?: IDBFactory;
}

/**
 * Keeps the database file as one value in IndexedDB. Each save is one readwrite transaction
 * with strict durability, so a save is all or nothing and a crash keeps the previous file.
 *
 * One writer at a time: `load()` marks the file as this persister's (beside it, under
 * `<key>:writer`, in the same transaction), and each save checks the mark in its own
 * transaction before it writes. A persister whose file another one loaded since (another tab
 * or window of the app, each holding its own copy in memory) is refused with `storage_locked`
 * and writes nothing, so an older copy never overwrites a newer one.
 */
export class IndexedDbPersister implements Persister {
  private readonly factory: IDBFactory;
  private readonly databaseName: string;
  private readonly storeName: string;
  private readonly key: string;
  private connection: Promise<IDBDatabase> | undefined;
  /** The mark this persister left at `load()`; its saves need it to still be there. */
  private owner: string | undefined;

  constructor(options: IndexedDbPersisterOptions) {
    if (!options || typeof options.databaseName !== 'string' || options.databaseName === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'options.databaseName is required');
    }
    const factory = options.indexedDB ?? globalThis.indexedDB;
    if (!factory) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'no IndexedDB here: pass options.indexedDB',
      );
    }
    this.factory = factory;
    this.databaseName = options.databaseName;
    this.storeName = options.storeName ?? DEFAULT_STORE_NAME;
    this.key = options.key ?? DEFAULT_KEY;
  }

  async load(): Promise<Uint8Array | undefined> {
    const db = await this.database();
    const transaction = db.transaction(this.storeName, 'readwrite');
    const store = transaction.objectStore(this.storeName);
    const request = store.get(this.key);
    const owner = uuidv7();
    store.put(owner, this.writerKey);
    await done(transaction);
    this.owner = owner;
    const value: unknown = request.result;
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    return undefined;
  }

  async save(bytes: Uint8Array): Promise<void> {
    const db = await this.database();
    const transaction = db.transaction(this.storeName, 'readwrite', { durability: 'strict' });
    const store = transaction.objectStore(this.storeName);
    let refused = false;
    if (this.owner === undefined) store.put(bytes, this.key);
    else {
      const mark = store.get(this.writerKey);
      mark.onsuccess = () => {
        if (mark.result === this.owner) store.put(bytes, this.key);
        else {
          refused = true;
          transaction.abort();
        }
      };
    }
    try {
      await done(transaction);
    } catch (error) {
      if (!refused) throw error;
      throw new LocalFirstError(
        ERROR_CODES.storageLocked,
        'another writer (another tab or window of this app) loaded this database since; nothing was saved',
        { details: { databaseName: this.databaseName, key: this.key } },
      );
    }
  }

  private get writerKey(): string {
    return `${this.key}:writer`;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    (await connection?.catch(() => undefined))?.close();
  }

  private database(): Promise<IDBDatabase> {
    this.connection ??= this.openWithStore().catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    return this.connection;
  }

  private openDatabase(version?: number): Promise<IDBDatabase> {
    const opening = this.factory.open(this.databaseName, version);
    opening.onupgradeneeded = () => {
      if (!opening.result.objectStoreNames.contains(this.storeName)) {
        opening.result.createObjectStore(this.storeName);
      }
    };
    return request(opening);
  }

  /** Opens the database, adding the object store in a version upgrade when it is missing. */
  private async openWithStore(): Promise<IDBDatabase> {
    let db = await this.openDatabase();
    if (!db.objectStoreNames.contains(this.storeName)) {
      const version = db.version + 1;
      db.close();
      db = await this.openDatabase(version);
    }
    // Let another tab upgrade the database; the next save opens it again.
    db.onversionchange = () => {
      db.close();
      this.connection = undefined;
    };
    return db;
  }
}

/** A failure of IndexedDB: `storage_failure`, with its DOMException (when it gave one) as the cause. */
function failure(message: string, cause: DOMException | null | undefined): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.storageFailure, message, cause ? { cause } : {});
}

function request<T>(pending: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    pending.onsuccess = () => resolve(pending.result);
    pending.onerror = () => reject(failure('an IndexedDB request failed', pending.error));
  });
}

function done(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    // A failed request's error reaches the transaction before its abort; the first one wins.
    transaction.onerror = (event) =>
      reject(
        failure(
          'an IndexedDB transaction failed',
          transaction.error ?? (event.target as IDBRequest | null)?.error,
        ),
      );
    transaction.onabort = () =>
      reject(failure('the IndexedDB transaction was aborted', transaction.error));
  });
}

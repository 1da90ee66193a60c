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
  /** The bytes of one chunk of the file. Default `CHUNK_BYTES`. */
  chunkBytes?: number;
}

/**
 * Keeps the database file in IndexedDB, in chunks of `CHUNK_BYTES` under `<key>:chunk:<n>`
 * and a manifest under `key` (a file saved whole by an earlier version loads as before). Each
 * save is one readwrite transaction with strict durability, so a save is all or nothing and a
 * crash keeps the previous file.
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
  private readonly chunkBytes: number;
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
    this.chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
    if (!Number.isInteger(this.chunkBytes) || this.chunkBytes < 1) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'chunkBytes must be a positive integer',
      );
    }
  }

  async load(): Promise<Uint8Array | undefined> {
    const db = await this.database();
    const transaction = db.transaction(this.storeName, 'readwrite');
    const store = transaction.objectStore(this.storeName);
    const owner = uuidv7();
    store.put(owner, this.writerKey);
    let loaded: Uint8Array | undefined;
    const head = store.get(this.key);
    head.onsuccess = () => {
      const value: unknown = head.result;
      if (value instanceof Uint8Array) loaded = value;
      else if (value instanceof ArrayBuffer) loaded = new Uint8Array(value);
      else if (isManifest(value)) {
        // Every chunk is asked for at once; they are joined once all are there.
        const parts: Uint8Array[] = new Array(value.chunks);
        for (let index = 0; index < value.chunks; index++) {
          const chunk = store.get(this.chunkKey(index));
          chunk.onsuccess = () => {
            parts[index] = chunk.result as Uint8Array;
            if (index === value.chunks - 1) loaded = join(parts, value.bytes);
          };
        }
      }
    };
    await done(transaction);
    this.owner = owner;
    return loaded;
  }

  /**
   * Saves in chunks of `chunkBytes`, one `put` per task (each in the answer to the one
   * before), inside one transaction: all or nothing as before, and the page is never held for
   * the copy of a whole database, which `put` makes on the page's thread.
   */
  async save(bytes: Uint8Array): Promise<void> {
    const db = await this.database();
    const transaction = db.transaction(this.storeName, 'readwrite', { durability: 'strict' });
    const store = transaction.objectStore(this.storeName);
    const size = this.chunkBytes;
    const chunks = Math.max(1, Math.ceil(bytes.length / size));
    let refused = false;
    const write = (before: unknown) => {
      const put = (index: number) => {
        if (index === chunks) {
          store.put({ format: 'chunks', version: 1, chunks, bytes: bytes.length }, this.key);
          const stale = isManifest(before) ? before.chunks : 0;
          for (let old = chunks; old < stale; old++) store.delete(this.chunkKey(old));
          return;
        }
        // A copy of its own: a view would carry the whole buffer into the clone.
        const part = bytes.slice(index * size, (index + 1) * size);
        store.put(part, this.chunkKey(index)).onsuccess = () => put(index + 1);
      };
      put(0);
    };
    const previous = store.get(this.key);
    previous.onsuccess = () => {
      if (this.owner === undefined) return write(previous.result);
      const mark = store.get(this.writerKey);
      mark.onsuccess = () => {
        if (mark.result === this.owner) return write(previous.result);
        refused = true;
        transaction.abort();
      };
    };
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

  private chunkKey(index: number): string {
    return `${this.key}:chunk:${index}`;
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

/** The bytes of one `put`: small enough that cloning them never holds the page for long. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** What `key` holds once the file is kept in chunks. */
interface Manifest {
  format: 'chunks';
  version: 1;
  chunks: number;
  bytes: number;
}

function isManifest(value: unknown): value is Manifest {
  const manifest = value as Partial<Manifest> | null;
  return (
    manifest?.format === 'chunks' &&
    manifest.version === 1 &&
    Number.isInteger(manifest.chunks) &&
    Number.isInteger(manifest.bytes)
  );
}

function join(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === bytes) return parts[0]!;
  const whole = new Uint8Array(bytes);
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
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

import { ERROR_CODES, LocalFirstError } from '@local-first/core';

/**
 * A lease that tabs take in turn where there are no Web Locks. `claim` must be a
 * compare-and-set that no other tab can interleave with.
 */
export interface LeaseStore {
  /**
   * Gives the lease to `holder` until `until` if nobody holds it, its holder's time ran out
   * (`until <= now`), `holder` has it already, or its holder is `resigned` (a tab that said it
   * gave the lease up: its page is going, and its own release may never land); resolves
   * whether `holder` holds it now.
   */
  claim(holder: string, until: number, now: number, resigned?: string): Promise<boolean>;
  /** Gives the lease up if `holder` has it. */
  release(holder: string): Promise<void>;
}

interface LeaseRecord {
  holder: string;
  until: number;
}

const DATABASE = 'local-first-leases';
const STORE = 'leases';

/**
 * A `LeaseStore` in IndexedDB: one record per lease name in a small database of its own. A
 * claim reads and writes the record in one `readwrite` transaction, and the browser runs such
 * transactions on one store one at a time across all tabs, so two tabs never both win.
 */
export class IndexedDbLease implements LeaseStore {
  private database: Promise<IDBDatabase> | undefined;

  constructor(
    private readonly name: string,
    private readonly factory: IDBFactory | undefined = globalThis.indexedDB,
  ) {}

  claim(holder: string, until: number, now: number, resigned?: string): Promise<boolean> {
    return this.inTransaction((store, done) => {
      const read = store.get(this.name);
      read.onsuccess = () => {
        const current = read.result as LeaseRecord | undefined;
        const free =
          !current ||
          current.until <= now ||
          current.holder === holder ||
          (resigned !== undefined && current.holder === resigned);
        if (free) store.put({ holder, until } satisfies LeaseRecord, this.name);
        done(free);
      };
    });
  }

  release(holder: string): Promise<void> {
    return this.inTransaction<void>((store, done) => {
      const read = store.get(this.name);
      read.onsuccess = () => {
        if ((read.result as LeaseRecord | undefined)?.holder === holder) store.delete(this.name);
        done(undefined);
      };
    });
  }

  /** Runs `work` in one readwrite transaction; resolves with its value once it committed. */
  private async inTransaction<T>(
    work: (store: IDBObjectStore, done: (value: T) => void) => void,
  ): Promise<T> {
    const database = await this.open();
    return new Promise<T>((resolve, reject) => {
      const transaction = database.transaction(STORE, 'readwrite');
      let value: T;
      transaction.oncomplete = () => resolve(value);
      transaction.onabort = transaction.onerror = () =>
        reject(leaseError('the lease transaction failed', transaction.error));
      work(transaction.objectStore(STORE), (result) => {
        value = result;
      });
    });
  }

  private open(): Promise<IDBDatabase> {
    const factory = this.factory;
    if (!factory) return Promise.reject(leaseError('this environment has no IndexedDB'));
    this.database ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(DATABASE, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(leaseError('the lease database did not open', request.error));
    });
    // A failed open is tried again next time.
    this.database.catch(() => {
      this.database = undefined;
    });
    return this.database;
  }
}

function leaseError(message: string, cause?: unknown): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.storageFailure, message, { cause });
}

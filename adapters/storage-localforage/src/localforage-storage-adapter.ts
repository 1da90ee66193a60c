import {
  DEFAULT_NAMESPACE,
  ERROR_CODES,
  LocalFirstError,
  type QuerySpec,
  type StorageAdapter,
  type StorageCapabilities,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
  uuidv7,
} from '@local-first/core';
import {
  claimWriterLock,
  duplicateEventError,
  type EventQuery,
  evaluateQuery,
  SerialQueue,
  type StorageTransaction,
  storageClosedError,
  validateQuery,
  type WriterLock,
  type WriterLocks,
} from '@local-first/core/adapter';
import { Indexes, type StoredEventEntry } from './indexes.js';
import { JournaledStore, type KvTransaction, type LocalForageLike } from './journaled-store.js';
import { isIndexKey, keys } from './keys.js';

/** Entries per page of the id and log indexes: an append rewrites one page of this size. */
export const DEFAULT_INDEX_PAGE_SIZE = 512;

/** The writer lock of a store: named after its database and object store, when it tells them. */
function lockNameOf(store: LocalForageLike): string {
  const config = (
    store as { config?: () => { name?: unknown; storeName?: unknown } | undefined }
  ).config?.();
  const name = typeof config?.name === 'string' ? config.name : 'localforage';
  const storeName = typeof config?.storeName === 'string' ? config.storeName : 'keyvaluepairs';
  return `local-first:localforage:${name}/${storeName}`;
}

/** Options of `LocalForageStorageAdapter`. */
export interface LocalForageStorageOptions {
  /**
   * The store, made by the caller: `localforage.createInstance({ name, storeName })`, on
   * whichever driver it picked (IndexedDB or localStorage). Give each app, and each adapter,
   * an instance of its own: the adapter assumes it is the only writer.
   */
  localforage: LocalForageLike;
  /** Default `DEFAULT_INDEX_PAGE_SIZE`. */
  indexPageSize?: number;
  /**
   * Keeps a second writer out of the store (another tab or window over the same IndexedDB).
   * With Web Locks (`navigator.locks`, on HTTPS and localhost) the adapter holds the lock
   * `lockName` from `open()` to `close()`; a second adapter's `open()` waits up to `waitMs`
   * (default 10 s) for it, then rejects with `storage_locked`. Without them it marks the store
   * as its own at `open()`, and a commit of an older writer is refused with `storage_locked`.
   * `locks: null` forces the mark, for tests. Several tabs should share one store through
   * `@local-first/tabs`, which makes this a safety net.
   */
  writer?: WriterOptions;
}

/** How `LocalForageStorageAdapter` keeps a second writer out (see its `writer` option). */
export interface WriterOptions {
  /** The Web Lock's name. Default `local-first:localforage:<name>/<storeName>`. */
  lockName?: string;
  /** The Web Locks API. Default `navigator.locks`; `null` forces the writer's mark. */
  locks?: WriterLocks | null;
  /** How long a second `open()` waits for the lock before `storage_locked`. Default 10 s. */
  waitMs?: number;
}

/**
 * A `StorageAdapter` on localforage: every record, event and meta value is one key, and small
 * paged indexes list a repository's ids and the event log, so nothing ever lists or scans the
 * store's keys. Pending events are read from the pages that hold some, in creation order.
 *
 * localforage has no transactions over several keys; `JournaledStore` adds them with a
 * rollback journal, so every call and every `transaction()` lands entirely or not at all, even
 * across a crash. Queries run in JavaScript with core's `evaluateQuery` over the records of
 * one repository (`nativeQuery: false`). Every operation waits its turn in one queue.
 */
export class LocalForageStorageAdapter implements StorageAdapter {
  readonly name = 'localforage';
  readonly capabilities: StorageCapabilities = { persistent: true, nativeQuery: false };
  private readonly store: JournaledStore;
  private readonly pageSize: number;
  private readonly queue = new SerialQueue();
  private current = DEFAULT_NAMESPACE;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly writer: NonNullable<LocalForageStorageOptions['writer']>;
  private readonly lockName: string;
  private lock: WriterLock | undefined;

  constructor(options: LocalForageStorageOptions) {
    const store = options?.localforage;
    if (!store || typeof store.getItem !== 'function' || typeof store.setItem !== 'function') {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'options.localforage must be a localforage instance',
      );
    }
    const pageSize = options.indexPageSize ?? DEFAULT_INDEX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'indexPageSize must be a positive integer',
      );
    }
    this.pageSize = pageSize;
    this.store = new JournaledStore(store, isIndexKey);
    this.writer = options.writer ?? {};
    this.lockName = this.writer.lockName ?? lockNameOf(store);
  }

  get namespace(): string {
    return this.current;
  }

  open(): Promise<void> {
    // A closed adapter stays closed, even for the caller of an open() that had succeeded.
    if (this.queue.isClosed) return Promise.reject(storageClosedError());
    this.opening ??= (async () => {
      if (!this.queue.beginOpen()) return;
      try {
        this.lock = await claimWriterLock(this.lockName, this.writer);
        // No lock to hold: mark the store first, so an older writer commits nothing more
        // while this one recovers what a crash may have left.
        if (this.lock.mechanism === 'none') await this.store.claim(uuidv7());
        await this.store.recover();
        this.queue.endOpen(true);
      } catch (error) {
        this.lock?.release();
        this.lock = undefined;
        this.queue.endOpen(false);
        this.opening = undefined;
        throw error;
      }
    })();
    return this.opening;
  }

  useNamespace(namespace: string): Promise<void> {
    if (typeof namespace !== 'string' || namespace === '') {
      return Promise.reject(
        new LocalFirstError(ERROR_CODES.invalidArgument, 'a namespace needs a name'),
      );
    }
    return this.queue.run(() => {
      this.current = namespace;
    });
  }

  close(): Promise<void> {
    // Refuse new calls at once; localforage has nothing to release.
    const shutdown = () =>
      this.queue.close(async () => {
        await this.store.close();
        this.lock?.release();
      });
    const stillOpening = this.opening !== undefined && !this.queue.isOpen;
    this.closing ??= (
      stillOpening ? this.opening!.catch(() => undefined).then(shutdown) : shutdown()
    ).then(() => undefined);
    return this.closing;
  }

  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const kv = this.store.begin();
      let ended = false;
      let result: T;
      try {
        result = await work(this.view(kv, () => ended));
      } finally {
        ended = true;
      }
      await this.store.commit(kv);
      return result;
    });
  }

  getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    return this.once((view) => view.getRecord(repository, id));
  }
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    return this.once((view) => view.queryRecords(repository, query));
  }
  getEvent(eventId: string): Promise<StoredEvent | undefined> {
    return this.once((view) => view.getEvent(eventId));
  }
  hasEvent(eventId: string): Promise<boolean> {
    return this.once((view) => view.hasEvent(eventId));
  }
  getEvents(query?: EventQuery): Promise<StoredEvent[]> {
    return this.once((view) => view.getEvents(query));
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.once((view) => view.getMeta(key));
  }
  putRecord(repository: string, record: StoredRecord): Promise<void> {
    return this.once((view) => view.putRecord(repository, record));
  }
  appendEvent(event: StoredEvent): Promise<void> {
    return this.once((view) => view.appendEvent(event));
  }
  setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    return this.once((view) => view.setEventStatus(eventIds, status));
  }
  setMeta(key: string, value: string | undefined): Promise<void> {
    return this.once((view) => view.setMeta(key, value));
  }
  getRecords(repository: string, ids: readonly string[]): Promise<Map<string, StoredRecord>> {
    return this.once((view) => view.getRecords(repository, ids));
  }
  getEventStatuses(eventIds: readonly string[]): Promise<Map<string, SyncStatus>> {
    return this.once((view) => view.getEventStatuses(eventIds));
  }
  putRecords(repository: string, records: readonly StoredRecord[]): Promise<void> {
    return this.once((view) => view.putRecords(repository, records));
  }
  appendEvents(events: readonly StoredEvent[]): Promise<void> {
    return this.once((view) => view.appendEvents(events));
  }
  clearRepository(repository: string): Promise<void> {
    return this.once((view) => view.clearRepository(repository));
  }

  /** One call on its own: its own small transaction (reads commit nothing). */
  private once<T>(operation: (view: Required<StorageTransaction>) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const kv = this.store.begin();
      const result = await operation(this.view(kv, () => false));
      await this.store.commit(kv);
      return result;
    });
  }

  /**
   * The contract's operations over one pending transaction in the current namespace. The
   * batch methods read their keys `CONCURRENCY` at a time and update each index page once.
   */
  private view(kv: KvTransaction, ended: () => boolean): Required<StorageTransaction> {
    const ns = this.current;
    const indexes = new Indexes(kv, ns, this.pageSize);
    const guard = <A extends unknown[], R>(body: (...args: A) => Promise<R>) => {
      return async (...args: A): Promise<R> => {
        if (ended()) {
          throw new LocalFirstError(ERROR_CODES.closed, 'this transaction has already ended');
        }
        return body(...args);
      };
    };
    const readEvent = (eventId: string) => kv.get<StoredEventEntry>(keys.event(ns, eventId));
    const readEvents = (eventIds: readonly string[]) =>
      kv.getMany<StoredEventEntry>(eventIds.map((eventId) => keys.event(ns, eventId)));
    return {
      getRecord: guard(async (repository: string, id: string) => {
        const found = await kv.get<StoredRecord>(keys.record(ns, repository, id));
        return found && structuredClone(found);
      }),
      getRecords: guard(async (repository: string, ids: readonly string[]) => {
        const unique = [...new Set(ids)];
        const records = await kv.getMany<StoredRecord>(
          unique.map((id) => keys.record(ns, repository, id)),
        );
        const found = new Map<string, StoredRecord>();
        records.forEach((item, index) => {
          if (item !== undefined) found.set(unique[index]!, structuredClone(item));
        });
        return found;
      }),
      queryRecords: guard(async (repository: string, query: QuerySpec) => {
        validateQuery(query);
        const ids = await indexes.ids(repository);
        const records = await kv.getMany<StoredRecord>(
          ids.map((id) => keys.record(ns, repository, id)),
        );
        const present = records.filter((item): item is StoredRecord => item !== undefined);
        return evaluateQuery(present, query).map((item) => structuredClone(item));
      }),
      getEvent: guard(async (eventId: string) => {
        const entry = await readEvent(eventId);
        return entry && structuredClone(entry.event);
      }),
      hasEvent: guard(async (eventId: string) => (await readEvent(eventId)) !== undefined),
      getEvents: guard(async (query: EventQuery = {}) => {
        const ids = await indexes.eventIds(query, query.limit ?? Number.POSITIVE_INFINITY);
        const entries = await readEvents(ids);
        return entries.map((entry) => structuredClone(entry!.event));
      }),
      getEventStatuses: guard(async (eventIds: readonly string[]) => {
        const unique = [...new Set(eventIds)];
        const entries = await readEvents(unique);
        const found = new Map<string, SyncStatus>();
        entries.forEach((entry, index) => {
          if (entry !== undefined) found.set(unique[index]!, entry.event.syncStatus);
        });
        return found;
      }),
      getMeta: guard((key: string) => kv.get<string>(keys.meta(ns, key))),
      putRecord: guard(async (repository: string, record: StoredRecord) => {
        const key = keys.record(ns, repository, record.id);
        if ((await kv.get(key)) === undefined) await indexes.addId(repository, record.id);
        kv.set(key, structuredClone(record));
      }),
      putRecords: guard(async (repository: string, records: readonly StoredRecord[]) => {
        const unique = [...new Set(records.map((record) => record.id))];
        const before = await kv.getMany(unique.map((id) => keys.record(ns, repository, id)));
        await indexes.addIds(
          repository,
          unique.filter((_, index) => before[index] === undefined),
        );
        // One after the other, as putRecord would: the last state of an id wins.
        for (const record of records) {
          kv.set(keys.record(ns, repository, record.id), structuredClone(record));
        }
      }),
      appendEvent: guard(async (event: StoredEvent) => {
        const key = keys.event(ns, event.eventId);
        if ((await kv.get(key)) !== undefined) throw duplicateEventError(event.eventId);
        const seq = await indexes.appendEvent(event);
        kv.set(key, { seq, event: structuredClone(event) } satisfies StoredEventEntry);
      }),
      appendEvents: guard(async (events: readonly StoredEvent[]) => {
        // Every id is checked before the first write, so a duplicate leaves the log as it was.
        const known = await readEvents(events.map((event) => event.eventId));
        const taken = new Set<string>();
        events.forEach(({ eventId }, index) => {
          if (known[index] !== undefined || taken.has(eventId)) throw duplicateEventError(eventId);
          taken.add(eventId);
        });
        const seqs = await indexes.appendEvents(events);
        events.forEach((event, index) => {
          kv.set(keys.event(ns, event.eventId), {
            seq: seqs[index]!,
            event: structuredClone(event),
          } satisfies StoredEventEntry);
        });
      }),
      setEventStatus: guard(async (eventIds: readonly string[], status: SyncStatus) => {
        const entries = await readEvents(eventIds);
        const done = new Set<string>();
        for (const [index, eventId] of eventIds.entries()) {
          // Read again when an id repeats: its first turn may have changed it.
          const entry = done.has(eventId) ? await readEvent(eventId) : entries[index];
          done.add(eventId);
          if (!entry || entry.event.syncStatus === status) continue;
          await indexes.setStatus(entry.seq, status);
          kv.set(keys.event(ns, eventId), {
            seq: entry.seq,
            event: { ...entry.event, syncStatus: status },
          } satisfies StoredEventEntry);
        }
      }),
      clearRepository: guard(async (repository: string) => {
        for (const id of await indexes.dropIds(repository))
          kv.remove(keys.record(ns, repository, id));
        for (const eventId of await indexes.dropEvents(repository))
          kv.remove(keys.event(ns, eventId));
      }),
      setMeta: guard(async (key: string, value: string | undefined) => {
        if (value === undefined) kv.remove(keys.meta(ns, key));
        else kv.set(keys.meta(ns, key), value);
      }),
    };
  }
}

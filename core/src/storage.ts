import type { StoredEvent, StoredRecord, SyncStatus } from './model.js';
import type { QuerySpec } from './query.js';
import type { Subscribable } from './signal.js';

/** What an adapter can do beyond the required contract. The conformance suite skips by these. */
export interface StorageCapabilities {
  /** Data survives `close()` and a new adapter over the same backing store. */
  persistent: boolean;
  /** Queries run in the backend (SQL, an index) rather than over records loaded into JS. */
  nativeQuery: boolean;
}

/** Options for reading the event log. */
export interface EventQuery {
  /** Only events of this repository. */
  repository?: string;
  /** Only events with this status. */
  status?: SyncStatus;
  /** At most this many events. */
  limit?: number;
}

/** What a transaction wrote to one repository. */
export interface CommittedRecords {
  /** The repository. */
  repository: string;
  /** Every record of it was removed first. */
  cleared: boolean;
  /** The new state of each record written, once per id. */
  records: StoredRecord[];
}

/**
 * A transaction another client committed over the same store (another tab of the app, through
 * the tab that leads): what it wrote, for this client's watches, pending count and strategies.
 */
export interface ExternalCommit {
  /** The namespace it was committed in; a client elsewhere ignores it. */
  namespace: string;
  /** Per repository, the new state of each record written, after removing all when `cleared`. */
  records: CommittedRecords[];
  /** The events appended, oldest first (local pending ones are for the leading tab to push). */
  appended: StoredEvent[];
  /** The sync statuses it set (acknowledged, failed, pending again), in order. */
  statuses: StatusChange[];
  /**
   * Commits may have been missed (the tab that led went away between a commit and telling the
   * others): every watch and count reads the store again; the other fields are empty.
   */
  resync?: boolean;
}

/** Events a transaction set to one sync status. */
export interface StatusChange {
  /** The events, by id. */
  eventIds: readonly string[];
  /** Their new status. */
  status: SyncStatus;
}

/** Reads available both on the adapter and inside a transaction. */
export interface StorageReader {
  /** The state of one record (a tombstone included), or `undefined` when it was never written. */
  getRecord(repository: string, id: string): Promise<StoredRecord | undefined>;
  /** Records of one repository that match a query; see `QuerySpec` for the exact semantics. */
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]>;
  /** One event of the log by id, or `undefined`. */
  getEvent(eventId: string): Promise<StoredEvent | undefined>;
  /** True when the log holds an event with this id. */
  hasEvent(eventId: string): Promise<boolean>;
  /** Events of the log in the order they were appended, filtered as asked. */
  getEvents(query?: EventQuery): Promise<StoredEvent[]>;
  /** A meta value (cursors, client id, clock state, config), or `undefined`. */
  getMeta(key: string): Promise<string | undefined>;
  /**
   * Optional batch read: the states of many records of one repository, by id; ids never
   * written are absent from the map. Without it the client calls `getRecord` once per id.
   */
  getRecords?(repository: string, ids: readonly string[]): Promise<Map<string, StoredRecord>>;
  /**
   * Optional batch read: the sync status of each of these events that the log holds; ids not
   * in the log are absent. Without it the client calls `getEvent` once per id.
   */
  getEventStatuses?(eventIds: readonly string[]): Promise<Map<string, SyncStatus>>;
}

/** Writes available both on the adapter and inside a transaction. */
export interface StorageWriter {
  /** Creates or replaces the state of one record. */
  putRecord(repository: string, record: StoredRecord): Promise<void>;
  /** Appends an event to the log; fails with `duplicate_event` when its id is already there. */
  appendEvent(event: StoredEvent): Promise<void>;
  /** Sets the sync status of events by id; unknown ids are ignored. */
  setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void>;
  /** Sets a meta value; `undefined` removes it. */
  setMeta(key: string, value: string | undefined): Promise<void>;
  /**
   * Deletes every record (tombstones included) and every event of one repository in the
   * current namespace, as one atomic step; other repositories, other namespaces and meta are
   * untouched. Afterwards the repository reads as never written, so events applied again are
   * stored again. The client calls it when a server takes away read access.
   */
  clearRepository(repository: string): Promise<void>;
  /**
   * Optional batch write: creates or replaces many records of one repository, as `putRecord`
   * would one after the other. Without it the client calls `putRecord` once per record.
   */
  putRecords?(repository: string, records: readonly StoredRecord[]): Promise<void>;
  /**
   * Optional batch write: appends events in the order given, as `appendEvent` would one after
   * the other. When one id is already in the log (or twice in the list) it fails with
   * `duplicate_event` and appends none of them. Without it the client calls `appendEvent`
   * once per event.
   */
  appendEvents?(events: readonly StoredEvent[]): Promise<void>;
}

/** The view of the store inside `transaction()`: every write lands with the others or none do. */
export interface StorageTransaction extends StorageReader, StorageWriter {}

/**
 * The client-side store: records with tombstones, the event log with sync status, and meta
 * key-values, all inside the current namespace. Each call outside `transaction()` is atomic
 * on its own. Values returned are copies: changing them changes nothing stored.
 *
 * The four batch methods (`getRecords`, `getEventStatuses`, `putRecords`, `appendEvents`) are
 * optional: an adapter that has them lets the client store a page of remote events with a
 * handful of calls instead of several per event. `storage-batch.ts` falls back to the single
 * calls for adapters without them.
 */
export interface StorageAdapter extends StorageTransaction {
  /** A short name for logs and test titles (`memory`, `sqljs`, …). */
  readonly name: string;
  /** What this adapter supports beyond the contract. */
  readonly capabilities: StorageCapabilities;
  /** The namespace the adapter reads and writes; `default` until `useNamespace`. */
  readonly namespace: string;
  /** Opens the backing store; must be called once before anything else. */
  open(): Promise<void>;
  /** Switches to another isolated data set (for instance one per signed-in user). */
  useNamespace(namespace: string): Promise<void>;
  /**
   * Runs `work` as one all-or-nothing unit: when it throws, nothing it wrote is kept and the
   * error is re-thrown. Transactions of one adapter never interleave. Rules an adapter keeps
   * (the storage suite checks each):
   * - `work` reads and writes only through `tx`. A call on the adapter itself from inside
   *   `work` waits for the transaction to end, which waits for `work`: it never returns.
   *   Adapters may detect it and reject instead, but need not.
   * - `tx` is valid only while `work` runs: once the transaction ended (committed or rolled
   *   back), every call on it rejects with `closed` and changes nothing.
   * - An adapter may run `work` again, on a fresh `tx`, when a run could not commit and left
   *   nothing behind (the tabs adapter does when the leading tab changes mid-transaction).
   *   Callers keep no state across runs but what the last run returns.
   */
  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T>;
  /**
   * Optional: makes queries on these top-level fields of a repository fast (an index). The
   * client calls it after `open()` with the fields each repository declares in `indexes`.
   * Adapters without a query engine leave it out.
   */
  ensureIndexes?(repository: string, fields: readonly string[]): Promise<void>;
  /**
   * Optional: the commits other clients make over the same store (an adapter shared by the tabs
   * of an app). The client updates its watches and pending count from them, and hands their
   * pending local events to its strategies.
   */
  readonly externalCommits?: Subscribable<ExternalCommit>;
  /** Flushes and releases the backing store; later calls fail with `closed`. */
  close(): Promise<void>;
}

/** The namespace every adapter starts in. */
export const DEFAULT_NAMESPACE = 'default';

import { cloneJson } from './clone.js';
import type { RecordData, StoredEvent, StoredRecord } from './model.js';
import { Emitter, type Subscribable } from './signal.js';
import type { ExternalCommit, StatusChange, StorageTransaction } from './storage.js';

/** One record as a transaction left it, and as watches hand it out (frozen, shared). */
export interface ChangedRow {
  /** The record's state, a tombstone included. */
  readonly record: StoredRecord;
  /** The record as the app reads it; deeply frozen. */
  readonly item: RecordData;
  /**
   * Called by a watch that keeps the row: a row of a change set copies its record then (once,
   * for every watch), so a watch that only filters a record out never pays for a copy.
   */
  keep?(): void;
}

/**
 * A row of a change set: it reads the record the writer passed until a watch keeps it, and
 * from then on its own frozen copy (the writer's object, an event's data the app or a strategy
 * still holds, may change later; what a watch sorts and filters on must not).
 */
class ChangeSetRow implements ChangedRow {
  private copy: StoredRecord | undefined;
  private frozen: RecordData | undefined;

  constructor(
    private readonly source: StoredRecord,
    private readonly idField: string,
  ) {}

  get record(): StoredRecord {
    return this.copy ?? this.source;
  }

  get item(): RecordData {
    this.keep();
    return this.frozen!;
  }

  keep(): void {
    if (this.copy) return;
    const { source } = this;
    this.copy = { ...source, data: source.data === null ? null : cloneJson(source.data) };
    this.frozen = deepFreeze(recordItem(this.idField, this.copy));
  }
}

/**
 * What one committed transaction did to one repository, as its watches receive it: the new
 * state of each record it wrote (the last write of an id wins), after removing every record
 * first when `cleared`. `reset` means the change is not known record by record (the client
 * switched namespace): a watch reads its query again.
 */
export interface RecordChangeSet {
  /** The repository the transaction wrote. */
  readonly repository: string;
  /** Nothing is known record by record: read the query again. */
  readonly reset: boolean;
  /** Every record of the repository was removed before `rows` were written. */
  readonly cleared: boolean;
  /** The new state of each record written, once per id. */
  readonly rows: readonly ChangedRow[];
}

/** Freezes a JSON value and everything in it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

interface Touched {
  cleared: boolean;
  records: Map<string, StoredRecord>;
}

/**
 * Records which records a transaction writes, repository by repository, by standing between
 * the transaction and its caller: every write path of the client goes through one, so the
 * watches learn exactly what changed without reading the repository again.
 */
export class ChangeLog {
  private readonly touched = new Map<string, Touched>();
  /** The events the transaction appended, in order. */
  readonly appended: StoredEvent[] = [];
  /** The sync statuses it set, in order. */
  readonly statuses: StatusChange[] = [];

  /** The log of a transaction another client committed over the same store. */
  static of(commit: ExternalCommit): ChangeLog {
    const log = new ChangeLog();
    for (const { repository, cleared, records } of commit.records) {
      log.touched.set(repository, { cleared, records: new Map(records.map((r) => [r.id, r])) });
    }
    for (const event of commit.appended) log.appended.push(event);
    for (const change of commit.statuses) log.statuses.push(change);
    return log;
  }

  /** What the transaction did, as another client over the same store hears of it. */
  toCommit(namespace: string): ExternalCommit {
    const records = [...this.touched].map(([repository, entry]) => ({
      repository,
      cleared: entry.cleared,
      records: [...entry.records.values()],
    }));
    return { namespace, records, appended: [...this.appended], statuses: [...this.statuses] };
  }

  /** Whether the transaction wrote anything another client would care about. */
  get empty(): boolean {
    return this.touched.size === 0 && this.appended.length === 0 && this.statuses.length === 0;
  }

  /** The repositories it cleared (records, events and all). */
  get cleared(): string[] {
    return [...this.touched].filter(([, entry]) => entry.cleared).map(([name]) => name);
  }

  /** The repositories the transaction wrote to. */
  get repositories(): string[] {
    return [...this.touched.keys()];
  }

  /** The transaction as its caller sees it; writes through it are recorded once they succeed. */
  wrap(tx: StorageTransaction): StorageTransaction {
    const wrapped: StorageTransaction = {
      getRecord: (repository, id) => tx.getRecord(repository, id),
      queryRecords: (repository, query) => tx.queryRecords(repository, query),
      getEvent: (eventId) => tx.getEvent(eventId),
      hasEvent: (eventId) => tx.hasEvent(eventId),
      getEvents: (query) => tx.getEvents(query),
      getMeta: (key) => tx.getMeta(key),
      appendEvent: async (event) => {
        await tx.appendEvent(event);
        this.appended.push(event);
      },
      setEventStatus: async (eventIds, status) => {
        await tx.setEventStatus(eventIds, status);
        if (eventIds.length > 0) this.statuses.push({ eventIds: [...eventIds], status });
      },
      setMeta: (key, value) => tx.setMeta(key, value),
      putRecord: async (repository, record) => {
        await tx.putRecord(repository, record);
        this.entry(repository).records.set(record.id, record);
      },
      clearRepository: async (repository) => {
        await tx.clearRepository(repository);
        this.touched.set(repository, { cleared: true, records: new Map() });
      },
    };
    if (tx.getRecords) wrapped.getRecords = (repository, ids) => tx.getRecords!(repository, ids);
    if (tx.getEventStatuses) wrapped.getEventStatuses = (ids) => tx.getEventStatuses!(ids);
    if (tx.appendEvents) {
      wrapped.appendEvents = async (events) => {
        await tx.appendEvents!(events);
        for (const event of events) this.appended.push(event);
      };
    }
    if (tx.putRecords) {
      wrapped.putRecords = async (repository, records) => {
        await tx.putRecords!(repository, records);
        const entry = this.entry(repository);
        for (const record of records) entry.records.set(record.id, record);
      };
    }
    return wrapped;
  }

  /**
   * The change set of one repository, or `undefined` if the transaction left it alone. `row`
   * turns a record into the row the watches get; it is called once per record, and only here.
   */
  changeSet(
    repository: string,
    row: (record: StoredRecord) => ChangedRow,
  ): RecordChangeSet | undefined {
    const entry = this.touched.get(repository);
    if (!entry) return undefined;
    const rows: ChangedRow[] = [];
    for (const record of entry.records.values()) rows.push(row(record));
    return { repository, reset: false, cleared: entry.cleared, rows };
  }

  private entry(repository: string): Touched {
    let entry = this.touched.get(repository);
    if (!entry) {
      entry = { cleared: false, records: new Map() };
      this.touched.set(repository, entry);
    }
    return entry;
  }
}

/** How a stored record reads, in a repository whose id field is `idField`. */
export function recordItem(idField: string, record: StoredRecord): RecordData {
  if (!record.deleted) return record.data as RecordData;
  return { [idField]: record.id, _deleted: true };
}

/**
 * The change sets of each repository, as its watches subscribe to them. A change set is built
 * only for a repository somebody watches, its items copied once and frozen, shared by every
 * watch of the repository.
 */
export class ChangeFeeds {
  private readonly feeds = new Map<
    string,
    { idField: string; emitter: Emitter<RecordChangeSet> }
  >();

  /** What watches still have to do: reads under way, emissions scheduled. */
  private readonly busy = new Set<Promise<void>>();

  /** Holds `work` until it settles, for `settled()`. */
  track(work: Promise<void>): void {
    this.busy.add(work);
    const done = () => void this.busy.delete(work);
    work.then(done, done);
  }

  /** Resolves once no watch has a read under way or an emission due. */
  async settled(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy]);
  }

  /** Adds a repository's feed. */
  add(repository: string, idField: string): void {
    this.feeds.set(repository, { idField, emitter: new Emitter<RecordChangeSet>() });
  }

  /** A repository's feed; `undefined` for a name the client does not have. */
  of(repository: string): Subscribable<RecordChangeSet> | undefined {
    return this.feeds.get(repository)?.emitter;
  }

  /** A transaction committed: each repository it wrote tells its watches what changed. */
  committed(log: ChangeLog): void {
    for (const name of log.repositories) {
      const feed = this.feeds.get(name);
      if (!feed || feed.emitter.size === 0) continue;
      const changes = log.changeSet(name, (record) => new ChangeSetRow(record, feed.idField));
      if (changes) feed.emitter.emit(changes);
    }
  }

  /** Every watch reads its query again (the client switched namespace). */
  reset(): void {
    for (const [repository, feed] of this.feeds)
      feed.emitter.emit({ repository, reset: true, cleared: false, rows: [] });
  }

  /** Drops every watch. */
  clear(): void {
    for (const feed of this.feeds.values()) feed.emitter.clear();
  }
}

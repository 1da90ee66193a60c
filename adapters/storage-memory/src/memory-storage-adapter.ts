import {
  DEFAULT_NAMESPACE,
  ERROR_CODES,
  LocalFirstError,
  type QuerySpec,
  type RecordData,
  type StorageAdapter,
  type StorageCapabilities,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';
import {
  candidateIds,
  cloneJson,
  duplicateEventError,
  type EventQuery,
  evaluateQuery,
  type StorageTransaction,
  toStoredEvent,
} from '@local-first/core/adapter';
import { UndoLog } from './undo-log.js';

/** The data of one namespace. Map insertion order is the event log's append order. */
interface NamespaceData {
  records: Map<string, Map<string, StoredRecord>>;
  events: Map<string, StoredEvent>;
  meta: Map<string, string>;
}

/** Options of `MemoryStorageAdapter`. */
export interface MemoryStorageOptions {
  /**
   * Copy values on the way in and out, so callers can never change what is stored by
   * mutating an object. Default `true`; turn off only for benchmarks.
   */
  clone?: boolean;
}

/**
 * Keeps everything in JavaScript maps: fast, complete, and gone when the process ends. It is
 * the reference implementation of the `StorageAdapter` contract.
 *
 * Transactions write straight into the maps and keep an undo list; a failing transaction
 * replays it backwards. Every operation takes its turn in one queue, so no reader ever sees a
 * transaction half done. Inside `transaction()`, use the `tx` it hands you: calling the adapter
 * itself there would wait for the transaction that is waiting for it.
 */
export class MemoryStorageAdapter implements StorageAdapter {
  readonly name = 'memory';
  readonly capabilities: StorageCapabilities = { persistent: false, nativeQuery: false };
  private readonly namespaces = new Map<string, NamespaceData>();
  private readonly copy: (<T>(value: T) => T) | undefined;
  private current = DEFAULT_NAMESPACE;
  private state: 'new' | 'open' | 'closed' = 'new';
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(options: MemoryStorageOptions = {}) {
    this.copy = options.clone === false ? undefined : cloneJson;
  }

  get namespace(): string {
    return this.current;
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw closedError();
    this.state = 'open';
  }

  async useNamespace(namespace: string): Promise<void> {
    if (typeof namespace !== 'string' || namespace === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'a namespace needs a name');
    }
    await this.run(() => {
      this.current = namespace;
    });
  }

  async close(): Promise<void> {
    if (this.state !== 'closed') {
      // Refuse new calls at once; calls queued before close() still run before it resolves.
      this.state = 'closed';
      this.closing = this.queue.then(() => undefined);
    }
    await this.closing;
  }

  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    return this.run(async () => {
      const undo = new UndoLog();
      const life = { ended: false };
      const tx = this.view(undo, life);
      try {
        const result = await work(tx);
        life.ended = true;
        return result;
      } catch (error) {
        life.ended = true;
        undo.replay();
        throw error;
      }
    });
  }

  getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    return this.run(() => this.view().getRecord(repository, id));
  }
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    return this.run(() => this.view().queryRecords(repository, query));
  }
  getEvent(eventId: string): Promise<StoredEvent | undefined> {
    return this.run(() => this.view().getEvent(eventId));
  }
  hasEvent(eventId: string): Promise<boolean> {
    return this.run(() => this.view().hasEvent(eventId));
  }
  getEvents(query?: EventQuery): Promise<StoredEvent[]> {
    return this.run(() => this.view().getEvents(query));
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.run(() => this.view().getMeta(key));
  }
  putRecord(repository: string, record: StoredRecord): Promise<void> {
    return this.run(() => this.view().putRecord(repository, record));
  }
  appendEvent(event: StoredEvent): Promise<void> {
    return this.run(() => this.view().appendEvent(event));
  }
  setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    return this.run(() => this.view().setEventStatus(eventIds, status));
  }
  setMeta(key: string, value: string | undefined): Promise<void> {
    return this.run(() => this.view().setMeta(key, value));
  }
  getRecords(repository: string, ids: readonly string[]): Promise<Map<string, StoredRecord>> {
    return this.run(() => this.view().getRecords(repository, ids));
  }
  getEventStatuses(eventIds: readonly string[]): Promise<Map<string, SyncStatus>> {
    return this.run(() => this.view().getEventStatuses(eventIds));
  }
  putRecords(repository: string, records: readonly StoredRecord[]): Promise<void> {
    return this.run(() => this.view().putRecords(repository, records));
  }
  appendEvents(events: readonly StoredEvent[]): Promise<void> {
    return this.run(() => this.view().appendEvents(events));
  }
  clearRepository(repository: string): Promise<void> {
    return this.run(() => this.view().clearRepository(repository));
  }

  /** Queues an operation behind every earlier one. */
  private run<T>(operation: () => T | Promise<T>): Promise<T> {
    if (this.state !== 'open') {
      return Promise.reject(
        this.state === 'closed'
          ? closedError()
          : new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the adapter first'),
      );
    }
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private data(): NamespaceData {
    let data = this.namespaces.get(this.current);
    if (!data) {
      data = { records: new Map(), events: new Map(), meta: new Map() };
      this.namespaces.set(this.current, data);
    }
    return data;
  }

  /** Direct access to the current namespace; writes log their inverse into `undo` when given. */
  private view(undo?: UndoLog, life?: { ended: boolean }): MemoryView {
    return new MemoryView(this.data(), this.copy, undo, life);
  }
}

/**
 * The reads and writes of one namespace. Inside a transaction it logs the inverse of each
 * write into `undo`, and refuses to be used once the transaction has ended.
 *
 * Stored values are copies and are never changed in place (except an event's status), so the
 * record and the event of one write share a single copy of the record's data: within one view,
 * a data object handed in twice is copied once. Do not change what you passed in until the
 * transaction ends.
 */
class MemoryView implements StorageTransaction {
  private copies: Map<object, RecordData> | undefined;
  private readonly copy: <T>(value: T) => T;

  constructor(
    private readonly data: NamespaceData,
    /** `undefined` when the adapter was made with `clone: false`: values are kept as given. */
    private readonly cloning: (<T>(value: T) => T) | undefined,
    private readonly undo: UndoLog | undefined,
    private readonly life: { ended: boolean } | undefined,
  ) {
    this.copy = cloning ?? ((value) => value);
  }

  async getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    this.guard();
    const record = this.data.records.get(repository)?.get(id);
    return record && this.copy(record);
  }

  async getRecords(repository: string, ids: readonly string[]): Promise<Map<string, StoredRecord>> {
    this.guard();
    const found = new Map<string, StoredRecord>();
    const records = this.data.records.get(repository);
    if (!records) return found;
    for (const id of ids) {
      const record = records.get(id);
      if (record && !found.has(id)) found.set(id, this.copy(record));
    }
    return found;
  }

  async queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    this.guard();
    const table = this.data.records.get(repository);
    if (!table) return [];
    // A query that pins record ids reads just those records.
    const ids = candidateIds(query);
    const records = ids === undefined ? table.values() : lookUp(table, ids);
    return evaluateQuery(records, query).map(this.copy);
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.guard();
    const event = this.data.events.get(eventId);
    return event && this.copy(event);
  }

  async hasEvent(eventId: string): Promise<boolean> {
    this.guard();
    return this.data.events.has(eventId);
  }

  async getEventStatuses(eventIds: readonly string[]): Promise<Map<string, SyncStatus>> {
    this.guard();
    const found = new Map<string, SyncStatus>();
    for (const eventId of eventIds) {
      const event = this.data.events.get(eventId);
      if (event) found.set(eventId, event.syncStatus);
    }
    return found;
  }

  async getEvents(query: EventQuery = {}): Promise<StoredEvent[]> {
    this.guard();
    const found: StoredEvent[] = [];
    for (const event of this.data.events.values()) {
      if (query.limit !== undefined && found.length >= query.limit) break;
      if (query.repository !== undefined && event.repository !== query.repository) continue;
      if (query.status !== undefined && event.syncStatus !== query.status) continue;
      found.push(this.copy(event));
    }
    return found;
  }

  async getMeta(key: string): Promise<string | undefined> {
    this.guard();
    return this.data.meta.get(key);
  }

  async putRecord(repository: string, record: StoredRecord): Promise<void> {
    this.guard();
    this.storeRecord(this.table(repository), record);
  }

  async putRecords(repository: string, records: readonly StoredRecord[]): Promise<void> {
    this.guard();
    const table = this.table(repository);
    for (const record of records) this.storeRecord(table, record);
  }

  async appendEvent(event: StoredEvent): Promise<void> {
    this.guard();
    if (this.data.events.has(event.eventId)) throw duplicateEventError(event.eventId);
    this.storeEvent(event);
  }

  async appendEvents(events: readonly StoredEvent[]): Promise<void> {
    this.guard();
    const stored = this.data.events;
    const mark = this.undo?.mark ?? 0;
    for (let index = 0; index < events.length; index++) {
      const { eventId } = events[index]!;
      if (stored.has(eventId)) {
        // Nothing of the batch stays: the ones stored so far were new, so deleting them is
        // their undo (an id repeated in the batch is found here too, stored a moment ago).
        for (let back = 0; back < index; back++) stored.delete(events[back]!.eventId);
        this.undo?.truncate(mark);
        throw duplicateEventError(eventId);
      }
      this.storeEvent(events[index]!);
    }
  }

  async setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    this.guard();
    for (const eventId of eventIds) {
      const event = this.data.events.get(eventId);
      if (!event || event.syncStatus === status) continue;
      const previous = event.syncStatus;
      event.syncStatus = status;
      this.undo?.step(() => {
        event.syncStatus = previous;
      });
    }
  }

  async setMeta(key: string, value: string | undefined): Promise<void> {
    this.guard();
    const { meta } = this.data;
    const previous = meta.get(key);
    if (value === undefined) meta.delete(key);
    else meta.set(key, value);
    this.undo?.step(() => (previous === undefined ? meta.delete(key) : meta.set(key, previous)));
  }

  async clearRepository(repository: string): Promise<void> {
    this.guard();
    const { records, events } = this.data;
    const table = records.get(repository);
    if (table) {
      records.delete(repository);
      this.undo?.step(() => records.set(repository, table));
    }
    const doomed = [...events.values()].filter((event) => event.repository === repository);
    if (doomed.length === 0) return;
    // The map's order is the log's: an undo puts back the whole log as it was.
    const before = this.undo ? [...events] : undefined;
    for (const event of doomed) events.delete(event.eventId);
    if (before)
      this.undo!.step(() => {
        events.clear();
        for (const [eventId, event] of before) events.set(eventId, event);
      });
  }

  private guard(): void {
    if (this.life?.ended)
      throw new LocalFirstError(ERROR_CODES.closed, 'this transaction has already ended');
  }

  private table(repository: string): Map<string, StoredRecord> {
    let records = this.data.records.get(repository);
    if (!records) {
      records = new Map();
      this.data.records.set(repository, records);
    }
    return records;
  }

  /** One copy per data object handed to this view. */
  private copyData(data: RecordData | null): RecordData | null {
    if (data === null || typeof data !== 'object') return this.copy(data);
    this.copies ??= new Map();
    let copied = this.copies.get(data);
    if (!copied) {
      copied = this.copy(data);
      this.copies.set(data, copied);
    }
    return copied;
  }

  private storeRecord(table: Map<string, StoredRecord>, record: StoredRecord): void {
    const previous = table.get(record.id);
    table.set(
      record.id,
      this.cloning
        ? {
            id: record.id,
            data: this.copyData(record.data),
            deleted: record.deleted,
            hlc: record.hlc,
            eventId: record.eventId,
          }
        : record,
    );
    this.undo?.record(table, record.id, previous);
  }

  private storeEvent(event: StoredEvent): void {
    const { events } = this.data;
    const stored = this.cloning ? toStoredEvent(event, event, this.copyData(event.data)) : event;
    events.set(event.eventId, stored);
    this.undo?.event(events, event.eventId);
  }
}

function lookUp(table: Map<string, StoredRecord>, ids: readonly string[]): StoredRecord[] {
  const found: StoredRecord[] = [];
  for (const id of ids) {
    const record = table.get(id);
    if (record) found.push(record);
  }
  return found;
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the storage adapter is closed');
}

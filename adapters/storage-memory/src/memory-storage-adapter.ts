import {
  cloneJson,
  DEFAULT_NAMESPACE,
  ERROR_CODES,
  type EventQuery,
  evaluateQuery,
  LocalFirstError,
  type QuerySpec,
  type StorageAdapter,
  type StorageCapabilities,
  type StorageTransaction,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';

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
  private readonly copy: <T>(value: T) => T;
  private current = DEFAULT_NAMESPACE;
  private state: 'new' | 'open' | 'closed' = 'new';
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(options: MemoryStorageOptions = {}) {
    this.copy = options.clone === false ? (value) => value : cloneJson;
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
      const undo: (() => void)[] = [];
      const life = { ended: false };
      const tx = this.view(undo, life);
      try {
        const result = await work(tx);
        life.ended = true;
        return result;
      } catch (error) {
        life.ended = true;
        for (const step of undo.reverse()) step();
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
  private view(undo?: (() => void)[], life?: { ended: boolean }): StorageTransaction {
    const data = this.data();
    const copy = this.copy;
    // A transaction's view refuses to be used once its transaction has ended.
    const guard = () => {
      if (life?.ended)
        throw new LocalFirstError(ERROR_CODES.closed, 'this transaction has already ended');
    };
    const table = (repository: string) => {
      let records = data.records.get(repository);
      if (!records) {
        records = new Map();
        data.records.set(repository, records);
      }
      return records;
    };
    return {
      async getRecord(repository, id) {
        guard();
        const record = data.records.get(repository)?.get(id);
        return record && copy(record);
      },
      async queryRecords(repository, query) {
        guard();
        return evaluateQuery(data.records.get(repository)?.values() ?? [], query).map(copy);
      },
      async getEvent(eventId) {
        guard();
        const event = data.events.get(eventId);
        return event && copy(event);
      },
      async hasEvent(eventId) {
        guard();
        return data.events.has(eventId);
      },
      async getEvents(query = {}) {
        guard();
        const found: StoredEvent[] = [];
        for (const event of data.events.values()) {
          if (query.limit !== undefined && found.length >= query.limit) break;
          if (query.repository !== undefined && event.repository !== query.repository) continue;
          if (query.status !== undefined && event.syncStatus !== query.status) continue;
          found.push(copy(event));
        }
        return found;
      },
      async getMeta(key) {
        guard();
        return data.meta.get(key);
      },
      async putRecord(repository, record) {
        guard();
        const records = table(repository);
        const previous = records.get(record.id);
        records.set(record.id, copy(record));
        undo?.push(() => (previous ? records.set(record.id, previous) : records.delete(record.id)));
      },
      async appendEvent(event) {
        guard();
        if (data.events.has(event.eventId)) {
          throw new LocalFirstError(
            ERROR_CODES.duplicateEvent,
            `event ${event.eventId} is already in the log`,
            {
              details: { eventId: event.eventId },
            },
          );
        }
        data.events.set(event.eventId, copy(event));
        undo?.push(() => data.events.delete(event.eventId));
      },
      async setEventStatus(eventIds, status) {
        guard();
        for (const eventId of eventIds) {
          const event = data.events.get(eventId);
          if (!event || event.syncStatus === status) continue;
          const previous = event.syncStatus;
          event.syncStatus = status;
          undo?.push(() => {
            event.syncStatus = previous;
          });
        }
      },
      async setMeta(key, value) {
        guard();
        const previous = data.meta.get(key);
        if (value === undefined) data.meta.delete(key);
        else data.meta.set(key, value);
        undo?.push(() =>
          previous === undefined ? data.meta.delete(key) : data.meta.set(key, previous),
        );
      },
    };
  }
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the storage adapter is closed');
}

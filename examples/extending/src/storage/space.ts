import {
  ERROR_CODES,
  LocalFirstError,
  type QuerySpec,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';
import {
  cloneJson,
  duplicateEventError,
  type EventQuery,
  evaluateQuery,
  type StorageTransaction,
  validateQuery,
} from '@local-first/core/adapter';

// The state of a `JsonFileStorageAdapter`: one `Space` per namespace, the view a transaction
// reads and writes it through, and its form in the file.

/** One namespace: records by repository and id, the event log in append order, meta values. */
export interface Space {
  records: Map<string, Map<string, StoredRecord>>;
  events: Map<string, StoredEvent>;
  meta: Map<string, string>;
}

/** The file: maps are written as arrays of pairs, so no name (`__proto__`, say) is special. */
interface FileContents {
  version: 1;
  namespaces: [
    string,
    { records: [string, StoredRecord[]][]; events: StoredEvent[]; meta: [string, string][] },
  ][];
}

/**
 * The reads and writes of one namespace, for one transaction. Values are copied on the way in
 * and out, so no caller can change what is stored. Once the transaction ended, every call
 * rejects with `closed`.
 */
export class SpaceView implements StorageTransaction {
  /** True once anything was changed: only then is there something to save or undo. */
  wrote = false;
  private ended = false;

  constructor(private readonly space: Space) {}

  end(): void {
    this.ended = true;
  }

  async getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    this.guard();
    const record = this.space.records.get(repository)?.get(id);
    return record && cloneJson(record);
  }

  async queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    this.guard();
    validateQuery(query);
    const table = this.space.records.get(repository);
    return table ? evaluateQuery(table.values(), query).map(cloneJson) : [];
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.guard();
    const event = this.space.events.get(eventId);
    return event && cloneJson(event);
  }

  async hasEvent(eventId: string): Promise<boolean> {
    this.guard();
    return this.space.events.has(eventId);
  }

  async getEvents(query: EventQuery = {}): Promise<StoredEvent[]> {
    this.guard();
    const found: StoredEvent[] = [];
    for (const event of this.space.events.values()) {
      if (query.limit !== undefined && found.length >= query.limit) break;
      if (query.repository !== undefined && event.repository !== query.repository) continue;
      if (query.status !== undefined && event.syncStatus !== query.status) continue;
      found.push(cloneJson(event));
    }
    return found;
  }

  async getMeta(key: string): Promise<string | undefined> {
    this.guard();
    return this.space.meta.get(key);
  }

  async putRecord(repository: string, record: StoredRecord): Promise<void> {
    this.guard();
    let table = this.space.records.get(repository);
    if (!table) {
      table = new Map();
      this.space.records.set(repository, table);
    }
    this.wrote = true;
    table.set(record.id, cloneJson(record));
  }

  async appendEvent(event: StoredEvent): Promise<void> {
    this.guard();
    if (this.space.events.has(event.eventId)) throw duplicateEventError(event.eventId);
    this.wrote = true;
    this.space.events.set(event.eventId, cloneJson(event));
  }

  async setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    this.guard();
    for (const eventId of eventIds) {
      const event = this.space.events.get(eventId);
      if (!event || event.syncStatus === status) continue;
      this.wrote = true;
      event.syncStatus = status;
    }
  }

  async setMeta(key: string, value: string | undefined): Promise<void> {
    this.guard();
    this.wrote = true;
    if (value === undefined) this.space.meta.delete(key);
    else this.space.meta.set(key, value);
  }

  async clearRepository(repository: string): Promise<void> {
    this.guard();
    this.wrote = true;
    this.space.records.delete(repository);
    // Deleting while iterating is safe for a Map, and keeps the order of the other events.
    for (const [eventId, event] of this.space.events) {
      if (event.repository === repository) this.space.events.delete(eventId);
    }
  }

  private guard(): void {
    if (this.ended) {
      throw new LocalFirstError(ERROR_CODES.closed, 'this transaction has already ended');
    }
  }
}

/** The whole state as the text of the file. */
export function encode(spaces: Map<string, Space>): string {
  const contents: FileContents = {
    version: 1,
    namespaces: [...spaces].map(([name, space]) => [
      name,
      {
        records: [...space.records].map(([repository, table]) => [repository, [...table.values()]]),
        events: [...space.events.values()],
        meta: [...space.meta],
      },
    ]),
  };
  return JSON.stringify(contents);
}

/** The state a file's text holds; throws when the text is not such a file. */
export function decode(text: string): Map<string, Space> {
  const contents = JSON.parse(text) as FileContents;
  if (contents?.version !== 1 || !Array.isArray(contents.namespaces)) {
    throw new Error('the file is not a json-file storage file of version 1');
  }
  const spaces = new Map<string, Space>();
  for (const [name, stored] of contents.namespaces) {
    spaces.set(name, {
      records: new Map(
        stored.records.map(([repository, records]) => [
          repository,
          new Map(records.map((record) => [record.id, record])),
        ]),
      ),
      events: new Map(stored.events.map((event) => [event.eventId, event])),
      meta: new Map(stored.meta),
    });
  }
  return spaces;
}

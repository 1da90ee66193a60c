import { cloneJson } from './clone.js';
import type { ConflictResolver } from './conflict.js';
import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { JsonFields, JsonValue, RecordData, StoredEvent } from './model.js';
import {
  type OrderClause,
  type QueryOperator,
  type QuerySpec,
  validateQuery,
  type WhereClause,
} from './query.js';
import type { Subscribable, Unsubscribe } from './signal.js';

/** How a repository is declared. */
export interface RepositoryOptions<T extends JsonFields<T>> {
  /** Unique name; it is also the repository name on the wire. */
  name: string;
  /** Field that holds a record's id. Default `id`. */
  idField?: keyof T & string;
  /** Conflict resolution for remote events; default last-writer-wins by (hlc, eventId). */
  resolveConflict?: ConflictResolver<T>;
  /** Fields queried often: adapters with a query engine index them (`StorageAdapter.ensureIndexes`). */
  indexes?: readonly (keyof T & string)[];
}

/** Options of a write. */
export interface WriteOptions {
  /** Send the change to the sync strategies. Default `true`. */
  needSync?: boolean;
}

/** A record as read back, with the flag that tells tombstones apart. */
export type Stored<T> = T & {
  /** Present, and `true`, only on a tombstone read with `includeDeleted`. */
  readonly _deleted?: true;
};

/** The part of the client a repository talks to. */
export interface RepositoryBackend {
  /** Stores a change (`null` deletes) as an event; `undefined` if there was nothing to delete. */
  write(
    repository: string,
    id: string,
    data: RecordData | null,
    options: WriteOptions,
  ): Promise<StoredEvent | undefined>;
  /** One record by id; a tombstone only with `includeDeleted`. */
  read(repository: string, id: string, includeDeleted: boolean): Promise<RecordData | undefined>;
  /** The records that match a query. */
  query(repository: string, spec: QuerySpec): Promise<RecordData[]>;
  /** Fires after each committed change to the repository. */
  changes(repository: string): Subscribable<void>;
  /** The repository's events no server has acknowledged yet, oldest first. */
  pendingEvents(repository: string): Promise<StoredEvent[]>;
}

/**
 * A named collection of records of one type. Writes land in local storage at once, as an event
 * and the record change in one transaction, and go to the sync strategies afterwards.
 */
export class Repository<T extends JsonFields<T> = RecordData> {
  /** The repository's name, locally and on the wire. */
  readonly name: string;
  /** The field that holds a record's id. */
  readonly idField: string;
  /** The resolver for remote events; `undefined` means last-writer-wins. */
  readonly resolveConflict: ConflictResolver<T> | undefined;
  /** The fields adapters with a query engine index. */
  readonly indexes: readonly string[];
  private backend: RepositoryBackend | undefined;

  constructor(options: RepositoryOptions<T>) {
    if (typeof options.name !== 'string' || options.name === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'a repository needs a name');
    }
    this.name = options.name;
    this.idField = options.idField ?? 'id';
    this.resolveConflict = options.resolveConflict;
    this.indexes = options.indexes ?? [];
  }

  /** Connects the repository to its client; done by the client, once. */
  bind(backend: RepositoryBackend): void {
    if (this.backend && this.backend !== backend) {
      throw new LocalFirstError(
        ERROR_CODES.duplicateRepository,
        `repository "${this.name}" already belongs to another client`,
      );
    }
    this.backend = backend;
  }

  private get client(): RepositoryBackend {
    if (!this.backend) {
      throw new LocalFirstError(
        ERROR_CODES.notInitialized,
        `repository "${this.name}" is not part of a LocalFirstClient`,
      );
    }
    return this.backend;
  }

  /** The id of a record, read from its id field. */
  getId(item: T): string {
    const id = (item as unknown as RecordData)[this.idField];
    if (typeof id !== 'string' || id === '') {
      throw new LocalFirstError(
        ERROR_CODES.invalidRecord,
        `record of "${this.name}" needs a non-empty string in "${this.idField}"`,
      );
    }
    return id;
  }

  /** Inserts or replaces a record. Returns the event written. */
  async upsert(item: T, options: WriteOptions = {}): Promise<StoredEvent> {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new LocalFirstError(ERROR_CODES.invalidRecord, 'a record must be a plain object');
    }
    const data = item as unknown as RecordData;
    const event = await this.client.write(this.name, this.getId(item), data, options);
    return event!;
  }

  /** Deletes a record, leaving a tombstone. Returns the event, or `undefined` if there was nothing to delete. */
  delete(id: string, options: WriteOptions = {}): Promise<StoredEvent | undefined> {
    if (typeof id !== 'string' || id === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'delete needs a record id');
    }
    return this.client.write(this.name, id, null, options);
  }

  /** One record by id; tombstones only with `includeDeleted` (then marked `_deleted: true`). */
  async getById(
    id: string,
    options: { includeDeleted?: boolean } = {},
  ): Promise<Stored<T> | undefined> {
    return (await this.client.read(this.name, id, options.includeDeleted ?? false)) as
      | Stored<T>
      | undefined;
  }

  /** Starts a query over this repository. */
  query(): QueryBuilder<T> {
    return new QueryBuilder<T>(this.client, this.name);
  }

  /** Events of this repository not yet acknowledged by a server, oldest first. */
  getPendingEvents(): Promise<StoredEvent[]> {
    return this.client.pendingEvents(this.name);
  }
}

/** Builds a query step by step; nothing runs until `get()` or `watch()`. */
export class QueryBuilder<T extends JsonFields<T>> {
  private readonly spec: QuerySpec = { where: [], orderBy: [] };

  constructor(
    private readonly backend: RepositoryBackend,
    private readonly repository: string,
  ) {}

  /** Adds a condition; all conditions must hold. */
  where(field: keyof T & string, op: 'is null' | 'is not null'): this;
  where(field: keyof T & string, op: 'in' | 'not in', value: readonly JsonValue[]): this;
  where(field: keyof T & string, op: QueryOperator, value: JsonValue): this;
  where(
    field: keyof T & string,
    op: QueryOperator,
    value?: JsonValue | readonly JsonValue[],
  ): this {
    const clause: WhereClause = { field, op };
    if (value !== undefined) clause.value = value as JsonValue;
    this.spec.where.push(clause);
    return this;
  }

  /** Adds a sort key; earlier keys take precedence. */
  orderBy(field: keyof T & string, direction: OrderClause['direction'] = 'asc'): this {
    this.spec.orderBy.push({ field, direction });
    return this;
  }

  /** Returns at most `count` records. */
  limit(count: number): this {
    this.spec.limit = count;
    return this;
  }

  /** Skips the first `count` matches, in sort order. */
  offset(count: number): this {
    this.spec.offset = count;
    return this;
  }

  /** Includes tombstones (marked `_deleted: true`). */
  includeDeleted(include = true): this {
    this.spec.includeDeleted = include;
    return this;
  }

  /** The query as adapters receive it. */
  toSpec(): QuerySpec {
    return cloneJson(this.spec);
  }

  /** Runs the query once. */
  async get(): Promise<Stored<T>[]> {
    const spec = this.toSpec();
    validateQuery(spec);
    return (await this.backend.query(this.repository, spec)) as Stored<T>[];
  }

  /**
   * Runs the query now and again after each committed change to the repository: a transaction
   * that writes many records is one change. Results arrive in order; if changes come faster
   * than the query runs, the listener gets the newest results rather than every step.
   */
  watch(): Subscribable<Stored<T>[]> & {
    /** Listens for the errors of the runs; the watch goes on after one. */
    onError(listener: (error: unknown) => void): Unsubscribe;
  } {
    const spec = this.toSpec();
    validateQuery(spec);
    const backend = this.backend;
    const repository = this.repository;
    const errorListeners = new Set<(error: unknown) => void>();
    return {
      onError(listener) {
        errorListeners.add(listener);
        return () => errorListeners.delete(listener);
      },
      subscribe(listener) {
        let active = true;
        let running = false;
        let again = false;
        const run = async (): Promise<void> => {
          if (running) {
            again = true;
            return;
          }
          running = true;
          try {
            do {
              again = false;
              try {
                const results = (await backend.query(repository, spec)) as Stored<T>[];
                if (active) listener(results);
              } catch (error) {
                if (active) for (const onError of errorListeners) onError(error);
              }
            } while (again && active);
          } finally {
            running = false;
          }
        };
        const unsubscribe = backend.changes(repository).subscribe(() => void run());
        void run();
        return () => {
          active = false;
          unsubscribe();
        };
      },
    };
  }
}

/** A repository of any record type, as the client's list of repositories holds them. */
// biome-ignore lint/suspicious/noExplicitAny: repositories of any record type share one list.
export type AnyRepository = Repository<any>;

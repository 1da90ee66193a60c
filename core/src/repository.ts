import { afterTask } from './after-task.js';
import { cloneJson } from './clone.js';
import type { ConflictResolver } from './conflict.js';
import { ERROR_CODES, LocalFirstError } from './errors.js';
import { LiveQuery } from './live-query.js';
import type { JsonFields, JsonValue, RecordData, StoredEvent } from './model.js';
import {
  type OrderClause,
  type QueryOperator,
  type QuerySpec,
  validateQuery,
  type WhereClause,
} from './query.js';
import type { ChangedRow, RecordChangeSet } from './record-changes.js';
import type { LocalChange } from './replica-log.js';
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
  /** Stores changes in one transaction, one event each; deletes of absent records write none. */
  writeMany(
    repository: string,
    changes: readonly LocalChange[],
    options: WriteOptions,
  ): Promise<StoredEvent[]>;
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
  /** The rows of a query, their items frozen, as a watch loads them. */
  queryRows(repository: string, spec: QuerySpec): Promise<ChangedRow[]>;
  /** What each committed transaction changed in the repository. */
  changes(repository: string): Subscribable<RecordChangeSet>;
  /** Work of a watch still to finish (a read, an emission), for `LocalFirstClient.settled()`. */
  track(work: Promise<void>): void;
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
    const { id, data } = this.change(item);
    const event = await this.client.write(this.name, id, data, options);
    return event!;
  }

  /** Deletes a record, leaving a tombstone. Returns the event, or `undefined` if there was nothing to delete. */
  delete(id: string, options: WriteOptions = {}): Promise<StoredEvent | undefined> {
    return this.client.write(this.name, this.deletion(id).id, null, options);
  }

  /**
   * Inserts or replaces many records in one transaction: one storage commit, one emission of
   * each watch, and the events handed to the strategies together. Returns the events written,
   * in the order of `items`.
   */
  async upsertMany(items: readonly T[], options: WriteOptions = {}): Promise<StoredEvent[]> {
    return this.client.writeMany(
      this.name,
      items.map((item) => this.change(item)),
      options,
    );
  }

  /**
   * Deletes many records in one transaction, as `upsertMany` writes them. Ids of records that
   * are absent or deleted already write nothing; returns the events written.
   */
  async deleteMany(ids: readonly string[], options: WriteOptions = {}): Promise<StoredEvent[]> {
    return this.client.writeMany(
      this.name,
      ids.map((id) => this.deletion(id)),
      options,
    );
  }

  /** A record as a change to store; throws `invalid_record` for what is not one. */
  change(item: T): LocalChange {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new LocalFirstError(ERROR_CODES.invalidRecord, 'a record must be a plain object');
    }
    return { id: this.getId(item), data: item as unknown as RecordData };
  }

  /** A delete as a change to store; throws `invalid_argument` for an id that is not one. */
  deletion(id: string): LocalChange {
    if (typeof id !== 'string' || id === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'delete needs a record id');
    }
    return { id, data: null };
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
   * The query's results now, then after each committed transaction that changes them: the
   * results are patched from the records the transaction wrote, never read again (except when
   * removals empty a limited window that more records could fill, or the client switches
   * namespace). A transaction (or a remote batch) is one change however many records it
   * writes, and every transaction committed within one task reaches the listener as one
   * emission, after that task. The arrays and their records are frozen and shared between
   * emissions: read them, copy what you want to change.
   */
  watch(): LiveResults<T> {
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
        return watchQuery(backend, repository, spec, {
          emit: (items) => listener(items as readonly Stored<T>[]),
          fail: (error) => {
            for (const onError of errorListeners) onError(error);
          },
        });
      },
    };
  }
}

/** What `watch()` returns: the results as they change, and the errors of reading them. */
export interface LiveResults<T> extends Subscribable<readonly Stored<T>[]> {
  /** Listens for the errors of reading the query; the watch goes on after one. */
  onError(listener: (error: unknown) => void): Unsubscribe;
}

/** One subscription of a watch: a live query fed by the repository's change sets. */
function watchQuery(
  backend: RepositoryBackend,
  repository: string,
  spec: QuerySpec,
  out: { emit(items: readonly RecordData[]): void; fail(error: unknown): void },
): Unsubscribe {
  const live = new LiveQuery(spec);
  let active = true;
  /** Change sets that came while a read was under way, applied over its result. */
  let buffered: RecordChangeSet[] | undefined;
  let stale = false;
  let scheduled = false;
  const emit = () => {
    if (!active) return;
    try {
      out.emit(Object.freeze(live.results()));
    } catch (error) {
      // A listener that throws is reported as the watch's error; the watch goes on.
      out.fail(error);
    }
  };
  const emitAfterTask = () => {
    if (scheduled) return;
    scheduled = true;
    backend.track(
      new Promise<void>((resolve) =>
        afterTask(() => {
          scheduled = false;
          emit();
          resolve();
        }),
      ),
    );
  };
  const load = async (): Promise<void> => {
    buffered = [];
    stale = false;
    try {
      live.load(await backend.queryRows(repository, live.loadSpec()));
    } catch (error) {
      buffered = undefined;
      stale = true;
      if (active) out.fail(error);
      return;
    }
    const later = buffered;
    buffered = undefined;
    for (const changes of later) {
      if (live.apply(changes) === 'reload') return load();
    }
    emit();
  };
  const unsubscribe = backend.changes(repository).subscribe((changes) => {
    if (!active) return;
    if (buffered) buffered.push(changes);
    else if (stale) backend.track(load());
    else {
      const update = live.apply(changes);
      if (update === 'reload') backend.track(load());
      else if (update === 'changed') emitAfterTask();
    }
  });
  backend.track(load());
  return () => {
    active = false;
    unsubscribe();
  };
}

/** A repository of any record type, as the client's list of repositories holds them. */
// biome-ignore lint/suspicious/noExplicitAny: repositories of any record type share one list.
export type AnyRepository = Repository<any>;

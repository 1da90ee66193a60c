import {
  consoleLogger,
  DEFAULT_NAMESPACE,
  ERROR_CODES,
  isLocalFirstError,
  LocalFirstError,
  type Logger,
  type QuerySpec,
  type StorageAdapter,
  type StorageCapabilities,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';
import {
  type EventQuery,
  SerialQueue,
  type StorageTransaction,
  storageClosedError,
  storageFailure,
  validateQuery,
} from '@local-first/core/adapter';
import { Connection } from './connection.js';
import { indexSql } from './schema.js';
import { selectRecords } from './sql-query.js';
import { type SqlView, sqlView } from './sql-view.js';
import type { Persister, SqlJsModule } from './types.js';

/** How long after a committed write the database is saved, when nothing asks sooner. */
export const DEFAULT_SAVE_INTERVAL_MS = 1000;

/** Options of `SqlJsStorageAdapter`. */
export interface SqlJsStorageOptions {
  /**
   * The sql.js module, as `initSqlJs({ locateFile })` resolves it, or that promise itself.
   * The adapter never loads sql.js or its wasm file on its own.
   */
  sqlJs: SqlJsModule | Promise<SqlJsModule>;
  /** Where the database is kept between sessions; without one, it lives in memory only. */
  persister?: Persister;
  /**
   * Fields to index per repository, e.g. `{ tasks: ['done', 'dueAt'] }`: queries that filter
   * on them use an index instead of reading every record of the repository.
   */
  indexes?: Readonly<Record<string, readonly string[]>>;
  /**
   * Saves are coalesced: a committed write schedules one save this many milliseconds later,
   * and writes in between ride along. Default `DEFAULT_SAVE_INTERVAL_MS`.
   */
  saveIntervalMs?: number;
  /**
   * Save after every committed write or transaction before its promise resolves, so that a
   * crash loses nothing acknowledged. Costs one export and one file write per write.
   * Default `false`.
   */
  flushEachTransaction?: boolean;
  /** Where failed background saves are reported. Default `consoleLogger`. */
  logger?: Logger;
}

/**
 * A `StorageAdapter` on sql.js: SQLite compiled to WebAssembly, with the database in memory and
 * saved as a whole file through a `Persister` (a file in Node, IndexedDB in a browser).
 *
 * Queries run in SQLite (`nativeQuery`), with the type rules of `QuerySpec` spelled out in SQL.
 * Every operation waits its turn in one queue, and a save exports the database in its turn
 * too, so a saved file always holds whole transactions: a remote batch, its records and its
 * cursor together. The persister then writes those bytes while later operations run; saves
 * reach it one at a time, in order, and `flush()` and `close()` wait for a write under way.
 *
 * It has the optional batch methods: a page of remote events is read in a few `IN (…)`
 * queries and written with multi-row inserts, and a batch write outside `transaction()` runs
 * in a transaction of its own.
 */
export class SqlJsStorageAdapter implements StorageAdapter {
  readonly name = 'sqljs';
  readonly capabilities: StorageCapabilities;
  private readonly options: SqlJsStorageOptions;
  private readonly queue = new SerialQueue();
  private readonly logger: Logger;
  private readonly indexed: Set<string>;
  private connection: Connection | undefined;
  private current = DEFAULT_NAMESPACE;
  private dirty = false;
  /** The persister's write under way, if any; it settles when the write ends, never rejects. */
  private writing: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private plain: { namespace: string; view: SqlView } | undefined;

  constructor(options: SqlJsStorageOptions) {
    if (!options || options.sqlJs === undefined) {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'options.sqlJs is required');
    }
    const interval = options.saveIntervalMs ?? DEFAULT_SAVE_INTERVAL_MS;
    if (!Number.isFinite(interval) || interval < 0) {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'saveIntervalMs must be >= 0');
    }
    this.options = options;
    this.logger = options.logger ?? consoleLogger;
    this.indexed = new Set(Object.values(options.indexes ?? {}).flat());
    this.capabilities = { persistent: options.persister !== undefined, nativeQuery: true };
  }

  get namespace(): string {
    return this.current;
  }

  open(): Promise<void> {
    // A closed adapter stays closed, even for the caller of an open() that had succeeded.
    if (this.queue.isClosed) return Promise.reject(storageClosedError());
    this.opening ??= this.doOpen().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    if (!this.queue.beginOpen()) return;
    try {
      const sql = await this.options.sqlJs;
      const bytes = await this.options.persister?.load();
      this.connection = Connection.open(sql, bytes, this.options.indexes ?? {});
      this.queue.endOpen(true);
    } catch (error) {
      this.queue.endOpen(false);
      throw storageFailure('could not open the sql.js database', error);
    }
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

  /** Saves the database now if anything changed since the last save. */
  flush(): Promise<void> {
    return this.queue.run(() => this.save());
  }

  close(): Promise<void> {
    // close() must refuse new calls at once, so the queue is told synchronously when it can be.
    const shutdown = () =>
      this.queue.close(async () => {
        try {
          await this.save();
        } finally {
          this.connection?.close();
          this.connection = undefined;
          await this.options.persister?.close?.();
        }
      });
    const stillOpening = this.opening !== undefined && !this.queue.isOpen;
    this.closing ??= (
      stillOpening ? this.opening!.catch(() => undefined).then(shutdown) : shutdown()
    ).then(() => undefined);
    return this.closing;
  }

  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    return this.atomic(work);
  }

  getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    return this.read((view) => view.getRecord(repository, id));
  }
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    return this.read((view) => view.queryRecords(repository, query));
  }
  getEvent(eventId: string): Promise<StoredEvent | undefined> {
    return this.read((view) => view.getEvent(eventId));
  }
  hasEvent(eventId: string): Promise<boolean> {
    return this.read((view) => view.hasEvent(eventId));
  }
  getEvents(query?: EventQuery): Promise<StoredEvent[]> {
    return this.read((view) => view.getEvents(query));
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.read((view) => view.getMeta(key));
  }
  putRecord(repository: string, record: StoredRecord): Promise<void> {
    return this.write((view) => view.putRecord(repository, record));
  }
  appendEvent(event: StoredEvent): Promise<void> {
    return this.write((view) => view.appendEvent(event));
  }
  setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    return this.writeMany(eventIds.length, (view) => view.setEventStatus(eventIds, status));
  }
  setMeta(key: string, value: string | undefined): Promise<void> {
    return this.write((view) => view.setMeta(key, value));
  }
  getRecords(repository: string, ids: readonly string[]): Promise<Map<string, StoredRecord>> {
    return this.read((view) => view.getRecords(repository, ids));
  }
  getEventStatuses(eventIds: readonly string[]): Promise<Map<string, SyncStatus>> {
    return this.read((view) => view.getEventStatuses(eventIds));
  }
  putRecords(repository: string, records: readonly StoredRecord[]): Promise<void> {
    return this.writeMany(records.length, (view) => view.putRecords(repository, records));
  }
  appendEvents(events: readonly StoredEvent[]): Promise<void> {
    return this.writeMany(events.length, (view) => view.appendEvents(events));
  }
  /** Both deletes in one transaction of their own, so the repository goes whole or not at all. */
  clearRepository(repository: string): Promise<void> {
    return this.atomic((view) => view.clearRepository(repository));
  }

  /** Creates the expression indexes for fields a repository declares (see `indexes`). */
  ensureIndexes(_repository: string, fields: readonly string[]): Promise<void> {
    return this.queue.run(async () => {
      const fresh = fields.filter((field) => !this.indexed.has(field));
      if (fresh.length === 0) return;
      this.live().exec(indexSql(fresh));
      for (const field of fresh) this.indexed.add(field);
      // Views remember which fields are indexed; the next call makes a new one.
      this.plain = undefined;
      await this.committed();
    });
  }

  /** SQLite's plan for a query, one line per step: shows whether a declared index is used. */
  explainQuery(repository: string, query: QuerySpec): Promise<string[]> {
    return this.queue.run(() => {
      validateQuery(query);
      const { sql, params } = selectRecords(this.current, repository, query, this.indexed);
      const plan = this.live().rows(`EXPLAIN QUERY PLAN ${sql}`, params, false);
      return plan.map((row) => String(row[3]));
    });
  }

  /**
   * Runs `work` between BEGIN and COMMIT on a view of its own, rolling back when it throws,
   * then schedules the save. Both `transaction()` and the batch writes go through here.
   */
  private atomic<T>(work: (view: SqlView) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      let ended = false;
      const connection = this.live();
      const tx = sqlView(connection, this.current, this.indexed, () => ended);
      try {
        connection.exec('BEGIN');
      } catch (error) {
        throw storageFailure('could not begin a transaction', error);
      }
      let result: T;
      try {
        result = await work(tx);
      } catch (error) {
        ended = true;
        connection.rollback();
        throw error;
      }
      ended = true;
      try {
        connection.exec('COMMIT');
      } catch (error) {
        connection.rollback();
        throw storageFailure('the transaction could not commit', error);
      }
      await this.committed();
      return result;
    });
  }

  private read<T>(operation: (view: SqlView) => Promise<T>): Promise<T> {
    return this.queue.run(() => operation(this.plainView()));
  }

  /** The view for calls outside `transaction()`, made once per namespace. */
  private plainView(): SqlView {
    if (this.plain?.namespace !== this.current) {
      const view = sqlView(this.live(), this.current, this.indexed, () => false);
      this.plain = { namespace: this.current, view };
    }
    return this.plain.view;
  }

  /** One write on its own, in SQLite's implicit transaction, then the save it schedules. */
  private write(operation: (view: SqlView) => Promise<void>): Promise<void> {
    return this.queue.run(async () => {
      await operation(this.plainView());
      await this.committed();
    });
  }

  /**
   * Many writes in one call: in a transaction of their own, so they land together or not at
   * all, and SQLite journals them once rather than once per row. An empty batch commits and
   * saves nothing (a closed adapter still refuses it).
   */
  private writeMany(count: number, operation: (view: SqlView) => Promise<void>): Promise<void> {
    if (count === 0) return this.queue.run(() => undefined);
    return this.atomic(operation);
  }

  /** After a commit: save now when asked to, otherwise make sure a save is scheduled. */
  private async committed(): Promise<void> {
    if (!this.options.persister) return;
    this.dirty = true;
    if (this.options.flushEachTransaction) {
      await this.save();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Only the export waits in the queue: the next transactions run while the file is
      // written. A save queued while close() runs is refused; close() saves on its own.
      this.queue
        .run(() => this.startSave(this.reportFailedSave))
        .catch((error: unknown) => {
          if (isLocalFirstError(error, ERROR_CODES.closed)) return;
          this.reportFailedSave(error);
        });
    }, this.options.saveIntervalMs ?? DEFAULT_SAVE_INTERVAL_MS);
  }

  private readonly reportFailedSave = (error: unknown): void => {
    this.logger.error({ error }, 'sql.js storage: saving the database failed; will retry');
  };

  /** Saves the database now and waits until the persister has it: flush(), close(). */
  private async save(): Promise<void> {
    const started = await this.startSave();
    await started?.written;
  }

  /**
   * Exports the database, if it changed since the last save, and hands the bytes to the
   * persister. Runs inside the queue, so never inside a transaction; the write itself does not
   * hold the queue. A write still under way ends first, so the persister gets one save at a
   * time, in order. A failed write marks the database unsaved again, and rejects `written`
   * with `storage_failure` (or goes to `report`, for a save nobody waits for).
   */
  private async startSave(
    report?: (error: unknown) => void,
  ): Promise<{ written: Promise<void> } | undefined> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.writing;
    const persister = this.options.persister;
    if (!persister || !this.dirty || !this.connection) return undefined;
    const bytes = this.connection.export();
    this.dirty = false;
    let written = persister.save(bytes).catch((error: unknown) => {
      this.dirty = true;
      throw storageFailure('could not save the sql.js database', error);
    });
    if (report) written = written.catch(report);
    this.writing = written.catch(() => undefined);
    return { written };
  }

  /** The open connection; the queue only runs work while there is one. */
  private live(): Connection {
    if (!this.connection) throw storageClosedError();
    return this.connection;
  }
}

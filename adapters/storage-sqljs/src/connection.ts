import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import { SCHEMA_VERSION, schemaSql } from './schema.js';
import { TextBytes } from './text-bytes.js';
import type { SqlJsDatabase, SqlJsModule, SqlJsStatement, SqlValue } from './types.js';

/**
 * One open sql.js database with a cache of prepared statements. sql.js is synchronous, so every
 * method here runs to its end before anything else can touch the database.
 */
export class Connection {
  private readonly statements = new Map<string, SqlJsStatement>();
  private readonly text = new TextBytes();

  private constructor(private db: SqlJsDatabase | undefined) {}

  /** Opens `bytes` (or a new database), refusing newer schemas, and creates what is missing. */
  static open(
    sql: SqlJsModule,
    bytes: Uint8Array | undefined,
    indexes: Readonly<Record<string, readonly string[]>>,
  ): Connection {
    const db = new sql.Database(bytes);
    try {
      const connection = new Connection(db);
      const version = Number(connection.rows('PRAGMA user_version', [], false)[0]?.[0] ?? 0);
      if (version > SCHEMA_VERSION) {
        throw new LocalFirstError(
          ERROR_CODES.unsupported,
          `the database has schema version ${version}; this adapter knows up to ${SCHEMA_VERSION}`,
        );
      }
      configure(db);
      db.exec(schemaSql(indexes));
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      return connection;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  exec(sql: string): void {
    this.database().exec(sql);
  }

  /** Runs a query; fixed statements stay prepared, generated ones are freed after use. */
  rows(sql: string, params: SqlValue[], keep = true): SqlValue[][] {
    const statement = keep ? this.prepared(sql) : this.database().prepare(sql);
    try {
      statement.bind(params);
      const rows: SqlValue[][] = [];
      while (statement.step()) rows.push(statement.get());
      return rows;
    } finally {
      if (keep) statement.reset();
      else statement.free();
    }
  }

  /**
   * Runs a query that ends in `IN (…)` over many values, in chunks: `sql(marks)` puts `marks`
   * (the placeholders of one chunk) into the query, after `params`. A short chunk is padded
   * with NULLs up to the next of a few fixed sizes, so every call shares a handful of prepared
   * statements; a NULL in the list matches no row.
   */
  rowsIn(
    sql: (marks: string) => string,
    params: readonly SqlValue[],
    values: readonly SqlValue[],
  ): SqlValue[][] {
    const rows: SqlValue[][] = [];
    for (let start = 0; start < values.length; start += IN_CHUNK) {
      const chunk = values.slice(start, start + IN_CHUNK);
      const size = IN_SIZES.find((candidate) => candidate >= chunk.length) ?? IN_CHUNK;
      const padded: SqlValue[] = [...params, ...chunk];
      for (let pad = chunk.length; pad < size; pad++) padded.push(null);
      for (const row of this.rows(sql(placeholders(size)), padded)) rows.push(row);
    }
    return rows;
  }

  run(sql: string, params: SqlValue[]): void {
    const statement = this.prepared(sql);
    try {
      statement.bind(params);
      statement.step();
    } finally {
      statement.reset();
    }
  }

  /**
   * Inserts one row per item, in order, with multi-row `INSERT … VALUES (…), (…)` statements:
   * one bind and one step write up to `MAX_ROWS` rows. `fill` writes an item's `insert.width`
   * values into `params` from `at`. The rows of a batch are split into a few fixed counts
   * (see `ROW_COUNTS`), so every call shares a handful of prepared statements.
   *
   * A failure stops at the statement it hits: that statement's rows are undone, the rows of
   * the statements before it stay. Callers that need all or nothing run it in a transaction
   * or a savepoint.
   */
  insertRows<T>(insert: RowInsert, items: readonly T[], fill: RowFill<T>): void {
    const most = Math.min(MAX_ROWS, Math.floor(MAX_VARIABLES / insert.width));
    let start = 0;
    while (start < items.length) {
      const left = items.length - start;
      const count = ROW_COUNTS.find((candidate) => candidate <= left && candidate <= most) ?? 1;
      const params = new Array<SqlValue>(count * insert.width);
      this.text.clear();
      for (let row = 0; row < count; row++) {
        fill(params, row * insert.width, items[start + row]!, this.text);
      }
      const statement = this.prepared(rowsSql(insert, count));
      try {
        statement.bind(params);
        statement.step();
      } finally {
        statement.reset();
      }
      start += count;
    }
  }

  /**
   * Undoes what was written since `SAVEPOINT name` and closes the savepoint. When SQLite has
   * already rolled back the whole transaction (after some errors it does), nothing is left.
   */
  undoSavepoint(name: string): void {
    try {
      this.database().exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
    } catch {
      // The savepoint went with the transaction.
    }
  }

  rollback(): void {
    try {
      this.db?.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back on its own (after some errors it does); nothing is left.
    }
  }

  /** The whole database file. Only between write transactions. */
  export(): Uint8Array {
    const db = this.database();
    try {
      return db.export();
    } finally {
      // Older sql.js versions close and reopen the connection to export, which frees the
      // prepared statements and resets the connection's pragmas.
      this.dropStatements();
      configure(db);
    }
  }

  close(): void {
    this.dropStatements();
    this.db?.close();
    this.db = undefined;
  }

  private database(): SqlJsDatabase {
    if (!this.db) throw new LocalFirstError(ERROR_CODES.closed, 'the storage adapter is closed');
    return this.db;
  }

  private prepared(sql: string): SqlJsStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.database().prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private dropStatements(): void {
    for (const statement of this.statements.values()) {
      try {
        statement.free();
      } catch {
        // Already freed by sql.js itself.
      }
    }
    this.statements.clear();
  }
}

/**
 * The database file lives in sql.js's in-memory file system, and durability comes from the
 * persister, never from SQLite syncing that memory. A journal kept in memory still rolls back
 * a failed transaction, and is ten times faster than one written as a file there.
 */
function configure(db: SqlJsDatabase): void {
  db.exec('PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;');
}

/**
 * The most values one `IN (…)` list binds. Older SQLite builds allow 999 variables in one
 * statement, and a few more are bound beside the list.
 */
const IN_CHUNK = 500;

/** The lengths `IN (…)` lists are padded to: a few statements, little padding. */
const IN_SIZES = [1, 8, 32, 128, IN_CHUNK];

const MARKS = new Map<number, string>();

/** `?, ?, …`: `count` placeholders, made once per count. */
function placeholders(count: number): string {
  let marks = MARKS.get(count);
  if (marks === undefined) {
    marks = Array.from({ length: count }, () => '?').join(', ');
    MARKS.set(count, marks);
  }
  return marks;
}

/**
 * A multi-row insert: `head` up to `VALUES`, then `row` (the placeholders of one row, e.g.
 * `(?, ?, CAST(? AS TEXT))`) once per row; `width` is the number of `?` in `row`.
 */
export interface RowInsert {
  head: string;
  row: string;
  width: number;
}

/** Writes the values of `item` into `params[at…]`; `text` turns long JSON into bytes. */
export type RowFill<T> = (params: SqlValue[], at: number, item: T, text: TextBytes) => void;

/** The most rows one insert statement writes, if the variable limit allows as many. */
const MAX_ROWS = 128;

/** The most values one statement binds, for older SQLite builds (see `IN_CHUNK`). */
const MAX_VARIABLES = 999;

/**
 * The row counts a batch is split into, largest first: 1000 rows are 7 × 128 + 3 × 32 + 8,
 * eleven statements from three prepared ones.
 */
const ROW_COUNTS = [MAX_ROWS, 32, 8, 1];

const ROWS_SQL = new WeakMap<RowInsert, Map<number, string>>();

/** The statement text of `insert` for `count` rows, made once per count. */
function rowsSql(insert: RowInsert, count: number): string {
  let byCount = ROWS_SQL.get(insert);
  if (byCount === undefined) {
    byCount = new Map();
    ROWS_SQL.set(insert, byCount);
  }
  let sql = byCount.get(count);
  if (sql === undefined) {
    sql = `${insert.head} VALUES ${Array.from({ length: count }, () => insert.row).join(', ')}`;
    byCount.set(count, sql);
  }
  return sql;
}

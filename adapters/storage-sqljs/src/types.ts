/**
 * The parts of sql.js this adapter uses, written out so that the package never imports sql.js
 * itself: the caller loads it (and its wasm file) and hands the module in. The module that
 * `initSqlJs()` resolves to fits these types.
 */

/** A value that goes into or comes out of SQLite. */
export type SqlValue = number | string | Uint8Array | null;

/** A prepared statement of sql.js. */
export interface SqlJsStatement {
  /** Binds the values of the statement's `?` parameters, in order. */
  bind(values?: SqlValue[]): boolean;
  /** Runs to the next row; false when there is none. */
  step(): boolean;
  /** The current row's values, in column order. */
  get(): SqlValue[];
  /** Rewinds the statement so it can run again with new bindings. */
  reset(): void;
  /** Releases the statement; it cannot be used afterwards. */
  free(): boolean;
}

/** An open sql.js database. */
export interface SqlJsDatabase {
  /** Runs one or more statements without parameters. */
  exec(sql: string): unknown;
  /** Compiles a statement to bind and step through. */
  prepare(sql: string): SqlJsStatement;
  /** The whole database file as bytes; only valid between write transactions. */
  export(): Uint8Array;
  /** Releases the database's memory. */
  close(): void;
}

/** What `initSqlJs()` resolves to. */
export interface SqlJsModule {
  /** Opens a database from a saved file's bytes, or a new empty one. */
  Database: new (
    data?: Uint8Array,
  ) => SqlJsDatabase;
}

/**
 * Where the database file lives between sessions. sql.js keeps the database in memory; the
 * adapter hands a persister the whole file, exported between transactions, and reads it back
 * on `open()`.
 */
export interface Persister {
  /** The bytes saved last, or `undefined` when nothing was ever saved. */
  load(): Promise<Uint8Array | undefined>;
  /** Replaces what is saved with `bytes`, all or nothing: a crash keeps the old or the new. */
  save(bytes: Uint8Array): Promise<void>;
  /** Releases what the persister holds open; called once by the adapter's `close()`. */
  close?(): Promise<void>;
}

import {
  ERROR_CODES,
  LocalFirstError,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';
import type { RowInsert } from './connection.js';
import { indexedExpression } from './sql-query.js';
import type { TextBytes } from './text-bytes.js';
import type { SqlValue } from './types.js';

/** The `user_version` of the schema below; a file written by a newer version is refused. */
export const SCHEMA_VERSION = 1;

/**
 * One database holds every namespace: each row carries its namespace, so switching user is a
 * different `ns` in every WHERE rather than another file. `events.seq` is the rowid, so the log
 * reads back in append order; the `(ns, status, seq)` index hands out pending events in that
 * order without reading the others.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  ns TEXT NOT NULL,
  repo TEXT NOT NULL,
  id TEXT NOT NULL,
  data TEXT,
  deleted INTEGER NOT NULL,
  hlc TEXT NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (ns, repo, id)
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  ns TEXT NOT NULL,
  event_id TEXT NOT NULL,
  repo TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (ns, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_status ON events (ns, status, seq);
CREATE INDEX IF NOT EXISTS events_by_repository ON events (ns, repo, seq);
CREATE TABLE IF NOT EXISTS meta (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
`;

/** Text to identify an index by field, made of characters that are safe in an SQL name. */
function hex(text: string): string {
  return Array.from(new TextEncoder().encode(text), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
}

/**
 * The DDL for the tables and for one expression index per declared field. An index on a field
 * serves that field in every repository, so a field declared by two repositories gets one.
 */
export function schemaSql(indexes: Readonly<Record<string, readonly string[]>>): string {
  return [SCHEMA, indexSql(Object.values(indexes).flat())].join('\n');
}

/** `CREATE INDEX IF NOT EXISTS` for each field (one expression index per field name). */
export function indexSql(fieldNames: readonly string[]): string {
  const statements: string[] = [];
  for (const field of [...new Set(fieldNames)].sort()) {
    if (field === 'id') continue; // the primary key already covers it
    const expression = indexedExpression(field);
    if (expression === undefined) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        `field "${field}" cannot be indexed: its name holds a quote, a backslash or a control character`,
        { details: { field } },
      );
    }
    statements.push(
      `CREATE INDEX IF NOT EXISTS field_${hex(field)} ON records (ns, repo, ${expression});`,
    );
  }
  return statements.join('\n');
}

/** A row of `RECORD_COLUMNS` as a record. */
export function rowToRecord(row: SqlValue[]): StoredRecord {
  const [id, data, deleted, hlc, eventId] = row;
  return {
    id: id as string,
    data: data === null ? null : JSON.parse(data as string),
    deleted: deleted === 1,
    hlc: hlc as string,
    eventId: eventId as string,
  };
}

/**
 * A row of `records`, for `Connection.insertRows`: `data` is bound as UTF-8 bytes (see
 * `TextBytes`) and stored as text.
 */
export const RECORD_ROWS: RowInsert = {
  head: 'INSERT OR REPLACE INTO records (ns, repo, id, data, deleted, hlc, event_id)',
  row: '(?, ?, ?, CAST(? AS TEXT), ?, ?, ?)',
  width: 7,
};

/** Writes the values of one `RECORD_ROWS` row into `params[at…]`. */
export function fillRecordRow(
  params: SqlValue[],
  at: number,
  ns: string,
  repository: string,
  record: StoredRecord,
  text: TextBytes,
): void {
  params[at] = ns;
  params[at + 1] = repository;
  params[at + 2] = record.id;
  params[at + 3] = text.encode(record.data === null ? null : JSON.stringify(record.data));
  params[at + 4] = record.deleted ? 1 : 0;
  params[at + 5] = record.hlc;
  params[at + 6] = record.eventId;
}

/**
 * A row of `events`, for `Connection.insertRows`. The body is the event without its status,
 * which lives in its own column so it can change; it is bound as UTF-8 bytes and stored as text.
 */
export const EVENT_ROWS: RowInsert = {
  head: 'INSERT INTO events (ns, event_id, repo, status, body)',
  row: '(?, ?, ?, ?, CAST(? AS TEXT))',
  width: 5,
};

/** Writes the values of one `EVENT_ROWS` row into `params[at…]`. */
export function fillEventRow(
  params: SqlValue[],
  at: number,
  ns: string,
  event: StoredEvent,
  text: TextBytes,
): void {
  const { syncStatus, ...body } = event;
  params[at] = ns;
  params[at + 1] = event.eventId;
  params[at + 2] = event.repository;
  params[at + 3] = syncStatus;
  params[at + 4] = text.encode(JSON.stringify(body));
}

export function rowToEvent(body: SqlValue, status: SqlValue): StoredEvent {
  return { ...JSON.parse(body as string), syncStatus: status as SyncStatus };
}

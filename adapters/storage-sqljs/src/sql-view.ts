import {
  ERROR_CODES,
  LocalFirstError,
  type QuerySpec,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';
import {
  duplicateEventError,
  type EventQuery,
  type StorageTransaction,
  storageFailure,
  validateQuery,
} from '@local-first/core/adapter';
import type { Connection } from './connection.js';
import {
  EVENT_ROWS,
  fillEventRow,
  fillRecordRow,
  RECORD_ROWS,
  rowToEvent,
  rowToRecord,
} from './schema.js';
import { RECORD_COLUMNS, selectRecords } from './sql-query.js';
import type { SqlValue } from './types.js';

/** A transaction view with the optional batch methods too. */
export type SqlView = Required<StorageTransaction>;

const SELECT_RECORDS_IN = (marks: string) =>
  `SELECT ${RECORD_COLUMNS} FROM records WHERE ns = ? AND repo = ? AND id IN (${marks})`;
const SELECT_STATUSES_IN = (marks: string) =>
  `SELECT event_id, status FROM events WHERE ns = ? AND event_id IN (${marks})`;

/**
 * The contract's reads and writes as SQL over one namespace of `connection`. The caller runs
 * each call in its queue; `ended()` turns the view off once its transaction is over.
 *
 * The batch methods look ids up in chunked `IN (…)` lists and write with multi-row inserts
 * (`Connection.insertRows`). They do not open a transaction of their own: the adapter wraps
 * its batch writes in one, and inside `transaction()` the caller's holds them.
 */
export function sqlView(
  connection: Connection,
  ns: string,
  indexed: ReadonlySet<string>,
  ended: () => boolean,
): SqlView {
  const guard = <A extends unknown[], R>(body: (...args: A) => R) => {
    return async (...args: A): Promise<Awaited<R>> => {
      if (ended()) {
        throw new LocalFirstError(ERROR_CODES.closed, 'this transaction has already ended');
      }
      try {
        return await body(...args);
      } catch (error) {
        throw storageFailure('a sql.js statement failed', error);
      }
    };
  };
  const putRecords = (repository: string, records: readonly StoredRecord[]) => {
    connection.insertRows(RECORD_ROWS, records, (params, at, record, text) =>
      fillRecordRow(params, at, ns, repository, record, text),
    );
  };
  const appendEvents = (events: readonly StoredEvent[]) => {
    if (events.length === 0) return;
    // The UNIQUE index on event ids refuses a duplicate, the savepoint undoes the rows written
    // before it, and only then are the ids looked up to name the duplicate. Fresh ids, the
    // usual case, are written without reading anything.
    connection.run('SAVEPOINT append_events', []);
    try {
      connection.insertRows(EVENT_ROWS, events, (params, at, event, text) =>
        fillEventRow(params, at, ns, event, text),
      );
    } catch (error) {
      connection.undoSavepoint('append_events');
      throwFirstDuplicate(events);
      throw error;
    }
    connection.run('RELEASE append_events', []);
  };
  /** Throws `duplicate_event` for the first id the log or an earlier event holds. */
  const throwFirstDuplicate = (events: readonly StoredEvent[]) => {
    const ids = events.map((event) => event.eventId);
    const known = new Set(connection.rowsIn(SELECT_STATUSES_IN, [ns], ids).map((row) => row[0]));
    const taken = new Set<string>();
    for (const eventId of ids) {
      if (known.has(eventId) || taken.has(eventId)) throw duplicateEventError(eventId);
      taken.add(eventId);
    }
  };
  return {
    getRecord: guard((repository: string, id: string) => {
      const [row] = connection.rows(
        `SELECT ${RECORD_COLUMNS} FROM records WHERE ns = ? AND repo = ? AND id = ?`,
        [ns, repository, id],
      );
      return row && rowToRecord(row);
    }),
    getRecords: guard((repository: string, ids: readonly string[]) => {
      const found = new Map<string, StoredRecord>();
      for (const row of connection.rowsIn(SELECT_RECORDS_IN, [ns, repository], [...new Set(ids)])) {
        const record = rowToRecord(row);
        found.set(record.id, record);
      }
      return found;
    }),
    queryRecords: guard((repository: string, query: QuerySpec) => {
      validateQuery(query);
      const { sql, params } = selectRecords(ns, repository, query, indexed);
      return connection.rows(sql, params, false).map(rowToRecord);
    }),
    getEvent: guard((eventId: string) => {
      const [row] = connection.rows(
        'SELECT body, status FROM events WHERE ns = ? AND event_id = ?',
        [ns, eventId],
      );
      return row && rowToEvent(row[0]!, row[1]!);
    }),
    hasEvent: guard(
      (eventId: string) =>
        connection.rows('SELECT 1 FROM events WHERE ns = ? AND event_id = ?', [ns, eventId])
          .length > 0,
    ),
    getEventStatuses: guard((eventIds: readonly string[]) => {
      const found = new Map<string, SyncStatus>();
      for (const [eventId, status] of connection.rowsIn(
        SELECT_STATUSES_IN,
        [ns],
        [...new Set(eventIds)],
      )) {
        found.set(eventId as string, status as SyncStatus);
      }
      return found;
    }),
    getEvents: guard((query: EventQuery = {}) => {
      const where = ['ns = ?'];
      const params: SqlValue[] = [ns];
      if (query.repository !== undefined) {
        where.push('repo = ?');
        params.push(query.repository);
      }
      if (query.status !== undefined) {
        where.push('status = ?');
        params.push(query.status);
      }
      params.push(query.limit ?? -1);
      const sql = `SELECT body, status FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`;
      return connection.rows(sql, params).map((row) => rowToEvent(row[0]!, row[1]!));
    }),
    getMeta: guard((key: string) => {
      const [row] = connection.rows('SELECT value FROM meta WHERE ns = ? AND key = ?', [ns, key]);
      return row?.[0] as string | undefined;
    }),
    putRecord: guard((repository: string, record: StoredRecord) => {
      putRecords(repository, [record]);
    }),
    putRecords: guard(putRecords),
    appendEvent: guard((event: StoredEvent) => appendEvents([event])),
    appendEvents: guard(appendEvents),
    setEventStatus: guard((eventIds: readonly string[], status: SyncStatus) => {
      for (const eventId of eventIds) {
        connection.run('UPDATE events SET status = ? WHERE ns = ? AND event_id = ?', [
          status,
          ns,
          eventId,
        ]);
      }
    }),
    clearRepository: guard((repository: string) => {
      connection.run('DELETE FROM records WHERE ns = ? AND repo = ?', [ns, repository]);
      connection.run('DELETE FROM events WHERE ns = ? AND repo = ?', [ns, repository]);
    }),
    setMeta: guard((key: string, value: string | undefined) => {
      if (value === undefined)
        connection.run('DELETE FROM meta WHERE ns = ? AND key = ?', [ns, key]);
      else
        connection.run('INSERT OR REPLACE INTO meta (ns, key, value) VALUES (?, ?, ?)', [
          ns,
          key,
          value,
        ]);
    }),
  };
}

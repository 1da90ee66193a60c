import {
  ERROR_CODES,
  type EventQuery,
  LocalFirstError,
  type QuerySpec,
  type StorageTransaction,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
  storageFailure,
  validateQuery,
} from '@local-first/core';
import type { Connection } from './connection.js';
import { eventBody, recordToRow, rowToEvent, rowToRecord } from './schema.js';
import { RECORD_COLUMNS, selectRecords } from './sql-query.js';
import type { SqlValue } from './types.js';

/**
 * The contract's reads and writes as SQL over one namespace of `connection`. The caller runs
 * each call in its queue; `ended()` turns the view off once its transaction is over.
 */
export function sqlView(
  connection: Connection,
  ns: string,
  indexed: ReadonlySet<string>,
  ended: () => boolean,
): StorageTransaction {
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
  return {
    getRecord: guard((repository: string, id: string) => {
      const [row] = connection.rows(
        `SELECT ${RECORD_COLUMNS} FROM records WHERE ns = ? AND repo = ? AND id = ?`,
        [ns, repository, id],
      );
      return row && rowToRecord(row);
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
      connection.run(
        'INSERT OR REPLACE INTO records (ns, repo, id, data, deleted, hlc, event_id) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?)',
        [ns, repository, ...recordToRow(record)],
      );
    }),
    appendEvent: guard((event: StoredEvent) => {
      const known = connection.rows('SELECT 1 FROM events WHERE ns = ? AND event_id = ?', [
        ns,
        event.eventId,
      ]);
      if (known.length > 0) {
        throw new LocalFirstError(
          ERROR_CODES.duplicateEvent,
          `event ${event.eventId} is already in the log`,
          { details: { eventId: event.eventId } },
        );
      }
      connection.run(
        'INSERT INTO events (ns, event_id, repo, status, body) VALUES (?, ?, ?, ?, ?)',
        [ns, event.eventId, event.repository, event.syncStatus, eventBody(event)],
      );
    }),
    setEventStatus: guard((eventIds: readonly string[], status: SyncStatus) => {
      for (const eventId of eventIds) {
        connection.run('UPDATE events SET status = ? WHERE ns = ? AND event_id = ?', [
          status,
          ns,
          eventId,
        ]);
      }
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

/**
 * The store's SQL. Sequences, stamps and payloads are read as text so that a process-wide
 * `pg.types.setTypeParser` of the application can never change what the store sees.
 */

/** Serializes concurrent `open()` calls of several server nodes on an empty database. */
const SCHEMA_LOCK_KEY = 4_051_202_501;

/**
 * One simple query of several statements runs as one implicit transaction: the advisory lock is
 * held to its end, and a failure leaves no connection of the pool inside an open transaction.
 */
export const SCHEMA = `
SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY});
CREATE TABLE IF NOT EXISTS local_first_repositories (
  name text PRIMARY KEY,
  last_sequence bigint NOT NULL,
  last_created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS local_first_events (
  repository text NOT NULL,
  server_sequence bigint NOT NULL,
  event_id text NOT NULL,
  payload json NOT NULL,
  server_created_at timestamptz NOT NULL,
  PRIMARY KEY (repository, server_sequence),
  UNIQUE (repository, event_id)
);
CREATE INDEX IF NOT EXISTS local_first_events_by_time
  ON local_first_events (repository, server_created_at);
CREATE TABLE IF NOT EXISTS local_first_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
`;

/** Writes the store's id (`$1`) and epoch (`$2`) unless the first `open()` of the schema did. */
export const SEED_META = `
INSERT INTO local_first_meta (key, value) VALUES ('store_id', $1), ('epoch', $2)
ON CONFLICT (key) DO NOTHING`;

export const READ_META = 'SELECT key, value FROM local_first_meta';

export const SET_EPOCH = `UPDATE local_first_meta SET value = $1 WHERE key = 'epoch'`;

const EPOCH_MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint::text`;

/**
 * Creates the repository's counter row or takes the existing one, and in both cases holds its
 * row lock until COMMIT: every other append to this repository waits here, so sequences are
 * handed out in commit order.
 */
export const LOCK_REPOSITORY = `
INSERT INTO local_first_repositories AS r (name, last_sequence, last_created_at)
VALUES ($1, 0, to_timestamp(0))
ON CONFLICT (name) DO UPDATE SET last_sequence = r.last_sequence
RETURNING r.last_sequence::text AS last_sequence, ${EPOCH_MS('r.last_created_at')} AS last_created_ms`;

/**
 * Inserts the batch's events that the repository does not hold yet, numbered after
 * `$4` in batch order. The existence check is exact because the caller holds the repository
 * lock; `ON CONFLICT DO NOTHING` on the UNIQUE key still guarantees one row per eventId.
 */
export const INSERT_EVENTS = `
WITH batch AS (
  SELECT event_id, payload, position
  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS b(event_id, payload, position)
), fresh AS (
  SELECT event_id, payload, row_number() OVER (ORDER BY position) AS n
  FROM batch
  WHERE NOT EXISTS (
    SELECT 1 FROM local_first_events e WHERE e.repository = $1 AND e.event_id = batch.event_id
  )
)
INSERT INTO local_first_events (repository, server_sequence, event_id, payload, server_created_at)
SELECT $1, $4::bigint + n, event_id, payload::json, $5::timestamptz FROM fresh
ON CONFLICT (repository, event_id) DO NOTHING
RETURNING event_id, server_sequence::text AS server_sequence`;

export const SAVE_COUNTER = `
UPDATE local_first_repositories SET last_sequence = $2, last_created_at = $3::timestamptz
WHERE name = $1`;

/**
 * Where and when each of the ids `$2` that the repository holds was stored: the duplicates of
 * an append, and `findEvents`. Searched on the UNIQUE (repository, event_id) index.
 */
export const ORIGINALS = `
SELECT event_id, server_sequence::text AS server_sequence,
  ${EPOCH_MS('server_created_at')} AS created_ms
FROM local_first_events WHERE repository = $1 AND event_id = ANY($2::text[])`;

// ORDER BY names the table's column: a bare `server_sequence` would sort the text alias.
const EVENT_COLUMNS = `SELECT e.server_sequence::text AS server_sequence, e.payload::text AS payload,
  ${EPOCH_MS('e.server_created_at')} AS created_ms FROM local_first_events e`;

export const READ_AFTER = `${EVENT_COLUMNS}
WHERE e.repository = $1 AND e.server_sequence > $2 ORDER BY e.server_sequence LIMIT $3`;

export const READ_SINCE = `${EVENT_COLUMNS}
WHERE e.repository = $1 AND e.server_created_at >= $2::timestamptz
ORDER BY e.server_sequence LIMIT $3`;

export const LAST_BEFORE = `
SELECT coalesce(max(server_sequence), 0)::text AS last_sequence FROM local_first_events
WHERE repository = $1 AND server_created_at < $2::timestamptz`;

export const LAST_SEQUENCE = `
SELECT last_sequence::text AS last_sequence FROM local_first_repositories WHERE name = $1`;

export const LIST_REPOSITORIES = `
SELECT name FROM local_first_repositories WHERE last_sequence > 0 ORDER BY name COLLATE "C"`;

/** Row shapes of the queries above, all numbers as text. */
export type CounterRow = { last_sequence: string; last_created_ms: string };
export type InsertedRow = { event_id: string; server_sequence: string };
export type OriginalRow = InsertedRow & { created_ms: string };
export type EventRow = { server_sequence: string; payload: string; created_ms: string };
export type MetaRow = { key: string; value: string };

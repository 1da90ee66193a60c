'use strict';
/**
 * The write side of the SQLite event store. It is plain JavaScript so that one implementation
 * runs both on the caller's thread and in the writer thread (`writer-thread.cjs`), which loads
 * it without a TypeScript toolchain.
 *
 * An append is `{ repository, eventIds, payloads }`: the events already encoded by the caller
 * (`encodeStoredEvent`), so an event that cannot be stored fails before anything is written.
 * A commit takes a group of appends and returns one result per append, in order:
 * `{ outcomes }` or `{ error }`.
 */

/**
 * @typedef {{ repository: string, eventIds: string[], payloads: string[] }} EncodedAppend
 * @typedef {{ eventId: string, serverSequence: number, serverCreatedAt: string, duplicate: boolean }} Outcome
 * @typedef {{ outcomes: Outcome[] } | { error: unknown }} AppendResult
 */

/**
 * Prepares the write statements on `db` and returns `commit(appends, nowMs)`: the group in one
 * IMMEDIATE transaction (one fsync), or, when that transaction fails and is rolled back, each
 * append in a transaction of its own, so that only the ones at fault fail.
 *
 * @param {import('better-sqlite3').Database} db
 * @returns {{ commit(appends: EncodedAppend[], nowMs: number): AppendResult[] }}
 */
function createWriter(db) {
  const counter = db.prepare(
    'SELECT last_sequence, last_created_at FROM repositories WHERE name = ?',
  );
  const saveCounter = db.prepare(
    `INSERT INTO repositories (name, last_sequence, last_created_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE
     SET last_sequence = excluded.last_sequence, last_created_at = excluded.last_created_at`,
  );
  const insert = db.prepare(
    `INSERT INTO events (repository, server_sequence, event_id, payload, server_created_at)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (repository, event_id) DO NOTHING`,
  );
  const original = db.prepare(
    'SELECT server_sequence, server_created_at FROM events WHERE repository = ? AND event_id = ?',
  );

  /**
   * One append, inside a transaction. Only inserted rows take a sequence, so sequences have no
   * gaps; the stamp never goes below the repository's last one (a clock that steps back).
   *
   * @param {EncodedAppend} append
   * @param {number} nowMs
   * @returns {Outcome[]}
   */
  function write({ repository, eventIds, payloads }, nowMs) {
    const row = counter.get(repository);
    const before = row ? row.last_sequence : 0;
    let sequence = before;
    const createdAtMs = Math.max(nowMs, row ? row.last_created_at : 0);
    const serverCreatedAt = new Date(createdAtMs).toISOString();
    const outcomes = eventIds.map((eventId, index) => {
      const inserted = insert.run(repository, sequence + 1, eventId, payloads[index], createdAtMs);
      if (inserted.changes === 1) {
        sequence += 1;
        return { eventId, serverSequence: sequence, serverCreatedAt, duplicate: false };
      }
      const held = original.get(repository, eventId);
      return {
        eventId,
        serverSequence: held.server_sequence,
        serverCreatedAt: new Date(held.server_created_at).toISOString(),
        duplicate: true,
      };
    });
    if (sequence !== before) saveCounter.run(repository, sequence, createdAtMs);
    return outcomes;
  }

  const one = db.transaction(write).immediate;
  const all = db.transaction((appends, nowMs) =>
    appends.map((append) => write(append, nowMs)),
  ).immediate;

  return {
    commit(appends, nowMs) {
      if (appends.length > 1) {
        try {
          return all(appends, nowMs).map((outcomes) => ({ outcomes }));
        } catch {
          // Rolled back as a whole: each is tried alone below.
        }
      }
      return appends.map((append) => {
        try {
          return { outcomes: one(append, nowMs) };
        } catch (error) {
          return { error };
        }
      });
    },
  };
}

module.exports = { createWriter };

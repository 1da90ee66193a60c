'use strict';
/**
 * The writer thread of the SQLite event store (see `writer-thread.ts`, which starts it). It
 * holds a connection of its own to the database file and runs every append transaction there,
 * so a commit and its fsync never hold the server's event loop. The file is in WAL mode: the
 * server's own connection keeps reading while a commit runs.
 *
 * Messages in: `{ type: 'commit', id, appends, nowMs }` and `{ type: 'close' }`.
 * Messages out: `{ type: 'ready' }` or `{ type: 'failed', error }` once, then
 * `{ type: 'committed', id, results }` per commit, and `{ type: 'closed' }`.
 * Errors travel as `{ name, message, code }`: a class does not survive the copy between threads.
 */
const { parentPort, workerData } = require('node:worker_threads');
const { createWriter } = require('./write-batch.cjs');

/** @param {unknown} error */
function describe(error) {
  if (error instanceof Error) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}

let db;
let writer;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  writer = createWriter(db);
} catch (error) {
  db?.close();
  db = undefined;
  parentPort.postMessage({ type: 'failed', error: describe(error) });
}

if (db) {
  parentPort.on('message', (message) => {
    if (message.type === 'close') {
      db.close();
      parentPort.postMessage({ type: 'closed' });
      parentPort.close();
      return;
    }
    let results;
    try {
      results = writer
        .commit(message.appends, message.nowMs)
        .map((result) => ('error' in result ? { error: describe(result.error) } : result));
    } catch (error) {
      const failed = { error: describe(error) };
      results = message.appends.map(() => failed);
    }
    parentPort.postMessage({ type: 'committed', id: message.id, results });
  });
  parentPort.postMessage({ type: 'ready' });
}

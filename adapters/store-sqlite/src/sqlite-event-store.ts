import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import {
  ERROR_CODES,
  type EventStore,
  LocalFirstError,
  type SyncEvent,
  uuidv7,
} from '@local-first/core';
import {
  type AppendOutcome,
  checkLimit,
  checkSequence,
  decodeStoredEvent,
  type EventPage,
  encodeStoredEvent,
  parseSince,
} from '@local-first/core/adapter';
import type BetterSqlite3 from 'better-sqlite3';
import { storageFailure } from './errors.js';
import { type AppendResult, type EncodedAppend, GroupCommit } from './group-commit.js';
import { WriterThread } from './writer-thread.js';

/** The write side, shared with the writer thread (see `write-batch.cjs`). */
interface Writer {
  commit(appends: EncodedAppend[], nowMs: number): AppendResult[];
}
const { createWriter } = createRequire(import.meta.url)('./write-batch.cjs') as {
  createWriter(db: BetterSqlite3.Database): Writer;
};

/** Where the database lives unless `path` says otherwise. */
export const DEFAULT_SQLITE_PATH = 'data/events.sqlite';
/** How long a write waits for another process's lock before it fails. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Options of `SqliteEventStore`. */
export interface SqliteEventStoreOptions {
  /**
   * The database file; it and its folder are created when missing. Default
   * `DEFAULT_SQLITE_PATH`. `':memory:'` gives a store that keeps nothing.
   */
  path?: string;
  /** The better-sqlite3 `Database` constructor. Default: imported from `better-sqlite3` by `open()`. */
  Database?: typeof BetterSqlite3;
  /** Milliseconds a write waits for another connection's lock. Default `DEFAULT_BUSY_TIMEOUT_MS`. */
  busyTimeoutMs?: number;
  /** The server clock that stamps `serverCreatedAt`. Default: the system clock. */
  now?: () => Date;
  /**
   * Group commit (default on): appends asked for while a commit runs are written together in
   * the next one, one transaction and one fsync, each resolved after it (see `GroupCommit`).
   * Off, each append is a transaction of its own.
   */
  groupCommit?: boolean;
  /**
   * Where append transactions run. `'thread'` (the default for a file): in a worker thread
   * with a connection of its own, so that a commit and its fsync never hold the event loop;
   * reads stay on the caller's thread (the file is in WAL mode, they do not wait for a commit).
   * `'inline'` (the default, and the only choice, for `':memory:'` or an injected `Database`):
   * on the caller's thread.
   */
  writer?: 'thread' | 'inline';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repositories (
  name TEXT PRIMARY KEY,
  last_sequence INTEGER NOT NULL,
  last_created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS events (
  repository TEXT NOT NULL,
  server_sequence INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  server_created_at INTEGER NOT NULL,
  PRIMARY KEY (repository, server_sequence),
  UNIQUE (repository, event_id)
) STRICT;
CREATE INDEX IF NOT EXISTS events_by_time ON events (repository, server_created_at);
CREATE TABLE IF NOT EXISTS store_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`;

/**
 * Event ids per query of `findEvents`: a push's ids take one query, and a longer list never
 * makes one statement of unbounded size.
 */
const FIND_EVENTS_CHUNK = 500;

/** Keys of `store_meta`: written once when missing, so the first open of a file decides them. */
const STORE_ID_KEY = 'store_id';
const EPOCH_KEY = 'epoch';

interface EventRow {
  server_sequence: number;
  payload: string;
  server_created_at: number;
}

interface Statements {
  held: BetterSqlite3.Statement<
    [string, string],
    { event_id: string; server_sequence: number; server_created_at: number }
  >;
  after: BetterSqlite3.Statement<[string, number, number], EventRow>;
  since: BetterSqlite3.Statement<[string, number, number], EventRow>;
  before: BetterSqlite3.Statement<[string, number], number>;
  last: BetterSqlite3.Statement<[string], number>;
  list: BetterSqlite3.Statement<[], string>;
  meta: BetterSqlite3.Statement<[string], string>;
  setMeta: BetterSqlite3.Statement<[string, string]>;
}

/**
 * The embedded event store: one SQLite file through better-sqlite3, for a single server
 * process (other processes may read it). Each `append` runs in an IMMEDIATE transaction (shared
 * with the appends asked for meanwhile, by group commit, unless `groupCommit: false`): it reads
 * the repository's counter row, inserts every event with `INSERT … ON CONFLICT DO NOTHING` on
 * the UNIQUE (repository, event_id) key (a conflict is a duplicate, whose original sequence is
 * read back), and saves the counter. Sequences are gap-free because only inserted rows take one.
 * These transactions run in a writer thread of the store (option `writer`), so a slow fsync
 * delays the appends waiting for it and nothing else: reads, other connections' messages and
 * heartbeats go on meanwhile.
 *
 * Durability: the file runs in WAL mode with `synchronous=FULL`, so every commit is fsynced to
 * the WAL before `append` resolves. With `NORMAL`, WAL commits reach the disk only at the next
 * checkpoint: a process crash would keep them, but a power cut or kernel crash could lose events
 * that clients already hold an ack for.
 *
 * Events are stored as the client's JSON minus the two server fields; `serverCreatedAt` never
 * decreases along a repository's sequence (a clock that steps back is clamped to the last stamp).
 *
 * Table `store_meta` holds the store's id and its epoch, one for every repository of the file,
 * both made on the first `open()` of the file: a new or wiped file has a new epoch, a copy
 * restored from a backup keeps the old one until `newEpoch()`.
 */
export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite';
  private readonly path: string;
  private readonly busyTimeoutMs: number;
  private readonly now: () => Date;
  private readonly injected: typeof BetterSqlite3 | undefined;
  private db: BetterSqlite3.Database | undefined;
  private statements: Statements | undefined;
  private group: GroupCommit | undefined;
  private thread: Promise<WriterThread> | undefined;
  private readonly groupCommit: boolean;
  private readonly writer: 'thread' | 'inline';
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: SqliteEventStoreOptions = {}) {
    this.groupCommit = options.groupCommit ?? true;
    this.path = options.path ?? DEFAULT_SQLITE_PATH;
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    this.injected = options.Database;
    const inMemory = this.path === ':memory:' || this.path === '';
    this.writer = options.writer ?? (inMemory || this.injected ? 'inline' : 'thread');
    if (this.writer === 'thread' && (inMemory || this.injected)) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        `writer: 'thread' needs a database file and the better-sqlite3 package itself ${
          inMemory ? `(path is "${this.path}")` : '(a Database was injected)'
        }; use writer: 'inline'`,
      );
    }
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw closedError();
    if (this.state === 'open') return;
    const Database = this.injected ?? (await import('better-sqlite3')).default;
    const db = guard('open the database', () => {
      if (this.path !== ':memory:' && this.path !== '') {
        mkdirSync(dirname(this.path), { recursive: true });
      }
      const opened = new Database(this.path, { timeout: this.busyTimeoutMs });
      try {
        opened.pragma('journal_mode = WAL');
        opened.pragma('synchronous = FULL');
        opened.exec(SCHEMA);
        const add = opened.prepare(
          'INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
        );
        opened
          .transaction(() => {
            add.run(STORE_ID_KEY, uuidv7());
            add.run(EPOCH_KEY, uuidv7());
          })
          .immediate();
      } catch (error) {
        opened.close();
        throw error;
      }
      return opened;
    });
    this.statements = prepare(db);
    let commit: (appends: EncodedAppend[]) => AppendResult[] | Promise<AppendResult[]>;
    if (this.writer === 'thread') {
      try {
        const thread = WriterThread.start(this.path, this.busyTimeoutMs);
        await thread;
        this.thread = thread;
      } catch (error) {
        db.close();
        throw error;
      }
      commit = (appends) => this.commitInThread(appends);
    } else {
      const writer = createWriter(db);
      commit = (appends) =>
        guard('append events', () => writer.commit(appends, this.now().getTime())).map((result) =>
          'error' in result ? { error: storageFailure('append events', result.error) } : result,
        );
    }
    this.group = new GroupCommit(commit, this.groupCommit ? undefined : 1);
    this.db = db;
    this.state = 'open';
  }

  async append(repository: string, events: readonly SyncEvent[]): Promise<AppendOutcome[]> {
    const group = this.ready().group!;
    if (events.length === 0) return [];
    // Encoded here: an event that cannot be stored fails its append before anything is written.
    const payloads = events.map(encodeStoredEvent);
    return group.append({ repository, eventIds: events.map((event) => event.eventId), payloads });
  }

  async findEvents(repository: string, eventIds: readonly string[]): Promise<AppendOutcome[]> {
    const { held } = this.ready().statements!;
    const wanted = [...new Set(eventIds)];
    return guard('find events', () => {
      const outcomes: AppendOutcome[] = [];
      for (let start = 0; start < wanted.length; start += FIND_EVENTS_CHUNK) {
        const chunk = JSON.stringify(wanted.slice(start, start + FIND_EVENTS_CHUNK));
        for (const row of held.all(repository, chunk)) {
          outcomes.push({
            eventId: row.event_id,
            serverSequence: row.server_sequence,
            serverCreatedAt: new Date(row.server_created_at).toISOString(),
            duplicate: true,
          });
        }
      }
      return outcomes;
    });
  }

  async readAfter(repository: string, afterSequence: number, limit: number): Promise<EventPage> {
    const { after } = this.ready().statements!;
    checkSequence(afterSequence);
    checkLimit(limit);
    const { last } = this.statements!;
    return guard('read events', () => {
      const rows = after.all(repository, afterSequence, limit + 1);
      // A cursor past the end names the end instead; a commit since the read above may have
      // moved the end past the cursor, which the caller did not read yet, hence the min.
      if (rows.length > 0) return toPage(rows, limit, afterSequence);
      return toPage(rows, limit, Math.min(afterSequence, last.get(repository) ?? 0));
    });
  }

  async readSince(repository: string, since: string, limit: number): Promise<EventPage> {
    const { since: sinceStatement, before } = this.ready().statements!;
    const sinceMs = parseSince(since);
    checkLimit(limit);
    return guard('read events', () => {
      const rows = sinceStatement.all(repository, sinceMs, limit + 1);
      // An empty page still names a cursor: the last event older than `since`.
      return toPage(rows, limit, rows.length > 0 ? 0 : (before.get(repository, sinceMs) ?? 0));
    });
  }

  async lastSequence(repository: string): Promise<number> {
    const { last } = this.ready().statements!;
    return guard('read the last sequence', () => last.get(repository) ?? 0);
  }

  async listRepositories(): Promise<string[]> {
    const { list } = this.ready().statements!;
    return guard('list repositories', () => list.all());
  }

  /**
   * The epoch of every repository of the file: one per database, read on every call, so a
   * `newEpoch()` of another process over the same file counts at once.
   */
  async epoch(_repository: string): Promise<string> {
    const { meta } = this.ready().statements!;
    return guard('read the epoch', () => meta.get(EPOCH_KEY)!);
  }

  async newEpoch(): Promise<string> {
    const { setMeta } = this.ready().statements!;
    const epoch = uuidv7();
    guard('write the epoch', () => setMeta.run(EPOCH_KEY, epoch));
    return epoch;
  }

  async storeId(): Promise<string> {
    const { meta } = this.ready().statements!;
    return guard('read the store id', () => meta.get(STORE_ID_KEY)!);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // Appends already asked for are committed (and resolved) before the file closes.
    await this.group?.drain();
    this.group = undefined;
    const thread = this.thread;
    this.thread = undefined;
    if (thread) await (await thread.catch(() => undefined))?.close();
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
  }

  /** One commit in the writer thread; a thread that stopped is replaced for the next one. */
  private async commitInThread(appends: EncodedAppend[]): Promise<AppendResult[]> {
    let thread = await this.thread!.catch(() => undefined);
    if (!thread || thread.stopped) {
      this.thread = WriterThread.start(this.path, this.busyTimeoutMs);
      thread = await this.thread;
    }
    return thread.commit(appends, this.now().getTime());
  }

  private ready(): this {
    if (this.state === 'open') return this;
    if (this.state === 'closed') throw closedError();
    throw new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the event store first');
  }
}

function prepare(db: BetterSqlite3.Database): Statements {
  const columns = 'SELECT server_sequence, payload, server_created_at FROM events';
  return {
    // The ids come as one JSON array: one statement for any count, searched on the
    // UNIQUE (repository, event_id) index.
    held: db.prepare(
      `SELECT event_id, server_sequence, server_created_at FROM events
       WHERE repository = ? AND event_id IN (SELECT value FROM json_each(?))`,
    ),
    after: db.prepare(
      `${columns} WHERE repository = ? AND server_sequence > ? ORDER BY server_sequence LIMIT ?`,
    ),
    since: db.prepare(
      `${columns} WHERE repository = ? AND server_created_at >= ? ORDER BY server_sequence LIMIT ?`,
    ),
    before: db
      .prepare<[string, number], number>(
        `SELECT coalesce(max(server_sequence), 0) FROM events
         WHERE repository = ? AND server_created_at < ?`,
      )
      .pluck(),
    last: db
      .prepare<[string], number>('SELECT last_sequence FROM repositories WHERE name = ?')
      .pluck(),
    list: db
      .prepare<[], string>('SELECT name FROM repositories WHERE last_sequence > 0 ORDER BY name')
      .pluck(),
    meta: db.prepare<[string], string>('SELECT value FROM store_meta WHERE key = ?').pluck(),
    setMeta: db.prepare(
      `INSERT INTO store_meta (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ),
  };
}

/** Turns `limit + 1` rows into a page; `emptyCursor` is the page's lastSequence when it is empty. */
function toPage(rows: EventRow[], limit: number, emptyCursor: number): EventPage {
  const events = rows
    .slice(0, limit)
    .map((row) => decodeStoredEvent(row.payload, row.server_sequence, row.server_created_at));
  return {
    events,
    hasMore: rows.length > limit,
    lastSequence: events.at(-1)?.serverSequence ?? emptyCursor,
  };
}

/** Runs a database call; a failure of the database becomes a `storage_failure`. */
function guard<T>(what: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw storageFailure(what, error);
  }
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the event store is closed');
}

import {
  consoleLogger,
  ERROR_CODES,
  type EventStore,
  LocalFirstError,
  type Logger,
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
import type { Pool, PoolClient, PoolConfig, QueryResultRow } from 'pg';
import {
  type CounterRow,
  type EventRow,
  INSERT_EVENTS,
  type InsertedRow,
  LAST_BEFORE,
  LAST_SEQUENCE,
  LIST_REPOSITORIES,
  LOCK_REPOSITORY,
  type MetaRow,
  ORIGINALS,
  type OriginalRow,
  READ_AFTER,
  READ_META,
  READ_SINCE,
  SAVE_COUNTER,
  SCHEMA,
  SEED_META,
  SET_EPOCH,
} from './sql.js';

/**
 * Event ids per query of `findEvents`: a push's ids take one query, and a longer list never
 * sends one array parameter of unbounded size.
 */
const FIND_EVENTS_CHUNK = 1_000;

/** Options of `PostgresEventStore`. */
export interface PostgresEventStoreOptions {
  /** A pool of the caller's: the store borrows its connections and never ends it. */
  pool?: Pool;
  /**
   * Where the pool that the store makes when `pool` is not given connects (the store ends that
   * pool on `close()`). Default: pg's defaults (the `PG*` environment variables).
   */
  connectionString?: string;
  /** More settings of that pool (size, timeouts, TLS). Default: pg's defaults. */
  poolConfig?: PoolConfig;
  /** The pg `Pool` constructor for that pool. Default: imported from `pg` by `open()`. */
  Pool?: typeof Pool;
  /** The server clock that stamps `serverCreatedAt`. Default: the system clock. */
  now?: () => Date;
  /**
   * Hears of idle connections that fail in the pool the store makes (the pool replaces them).
   * Default: `consoleLogger`. A pool you give needs its own `'error'` listener.
   */
  logger?: Logger;
}

/**
 * The event store for more than one server node: tables `local_first_repositories`,
 * `local_first_events` and `local_first_meta` in the database the pool connects to (created
 * by `open()`).
 *
 * Each `append` is one READ COMMITTED transaction that first takes the repository's counter
 * row with `INSERT … ON CONFLICT DO UPDATE … RETURNING`. That row lock is held until COMMIT,
 * so appends to one repository (from any connection or node) run one after the other and
 * sequence order equals commit order: a reader tailing with `readAfter` can never see
 * sequence 7 committed while 6 is still in flight. Appends to different repositories do not
 * wait for each other. Under the lock, the events the repository does not hold yet are
 * inserted, numbered gap-free in batch order; a repeat inside the batch, or an eventId that
 * another connection stored first, is a duplicate that reports the original sequence.
 *
 * Durability: `append` resolves after COMMIT returns. If the server runs with
 * `synchronous_commit = off`, the store raises it to `local` for its own transactions, so an
 * acknowledged event is on disk (with `fsync` on) before the client hears of it.
 *
 * Table `local_first_meta` holds the store's id and its epoch, one for every repository of the
 * schema, both made by the first `open()` over the schema: a new or wiped database has a new
 * epoch, one restored from a backup keeps the old one until `newEpoch()`.
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres';
  private readonly options: PostgresEventStoreOptions;
  private readonly now: () => Date;
  private pool: Pool | undefined;
  private ownsPool = false;
  private raiseSynchronousCommit = false;
  private meta: { storeId: string; epoch: string } | undefined;
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: PostgresEventStoreOptions = {}) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw closedError();
    if (this.state === 'open') return;
    let pool = this.options.pool;
    if (!pool) {
      const PoolClass = this.options.Pool ?? (await import('pg')).Pool;
      const { connectionString, poolConfig } = this.options;
      pool = new PoolClass(
        connectionString === undefined ? poolConfig : { ...poolConfig, connectionString },
      );
      // Without a listener, an idle connection that the server drops (restart, failover,
      // shutdown) is an uncaught 'error' that ends the process. While closing, it is expected.
      const logger = this.options.logger ?? consoleLogger;
      pool.on('error', (error) => {
        if (this.state !== 'closed') {
          logger.warn({ error }, 'an idle PostgreSQL connection failed; the pool replaces it');
        }
      });
      this.ownsPool = true;
    }
    this.pool = pool;
    try {
      await pool.query(SCHEMA);
      await pool.query(SEED_META, [uuidv7(), uuidv7()]);
      const stored = await pool.query<MetaRow>(READ_META);
      const value = (key: string) => stored.rows.find((row) => row.key === key)?.value ?? '';
      this.meta = { storeId: value('store_id'), epoch: value('epoch') };
      const setting = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      this.raiseSynchronousCommit = setting.rows[0]?.synchronous_commit === 'off';
    } catch (error) {
      if (this.ownsPool) await pool.end().catch(() => undefined);
      this.pool = undefined;
      throw failure('prepare the schema', error);
    }
    this.state = 'open';
  }

  async append(repository: string, events: readonly SyncEvent[]): Promise<AppendOutcome[]> {
    const pool = this.ready();
    if (events.length === 0) return [];
    // Encode first: an event that cannot be stored fails the batch before anything is written.
    const payloads = events.map(encodeStoredEvent);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw failure('connect', error);
    }
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      if (this.raiseSynchronousCommit) await client.query('SET LOCAL synchronous_commit TO local');
      const outcomes = await this.write(client, repository, events, payloads);
      await client.query('COMMIT');
      return outcomes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw failure('append events', error);
    } finally {
      client.release(broken);
    }
  }

  async findEvents(repository: string, eventIds: readonly string[]): Promise<AppendOutcome[]> {
    const pool = this.ready();
    const wanted = [...new Set(eventIds)];
    const outcomes: AppendOutcome[] = [];
    for (let start = 0; start < wanted.length; start += FIND_EVENTS_CHUNK) {
      const chunk = wanted.slice(start, start + FIND_EVENTS_CHUNK);
      const rows = await query<OriginalRow>(pool, ORIGINALS, [repository, chunk], 'find events');
      for (const row of rows)
        outcomes.push({ ...heldAt(row), eventId: row.event_id, duplicate: true });
    }
    return outcomes;
  }

  async readAfter(repository: string, afterSequence: number, limit: number): Promise<EventPage> {
    const pool = this.ready();
    checkSequence(afterSequence);
    checkLimit(limit);
    const rows = await query<EventRow>(pool, READ_AFTER, [repository, afterSequence, limit + 1]);
    if (rows.length > 0) return toPage(rows, limit, afterSequence);
    // A cursor past the end names the end instead; a commit since the read above may have
    // moved the end past the cursor, which the caller did not read yet, hence the min.
    const [end] = await query<{ last_sequence: string }>(pool, LAST_SEQUENCE, [repository]);
    return toPage([], limit, Math.min(afterSequence, Number(end?.last_sequence ?? 0)));
  }

  async readSince(repository: string, since: string, limit: number): Promise<EventPage> {
    const pool = this.ready();
    const sinceIso = new Date(parseSince(since)).toISOString();
    checkLimit(limit);
    const rows = await query<EventRow>(pool, READ_SINCE, [repository, sinceIso, limit + 1]);
    if (rows.length > 0) return toPage(rows, limit, 0);
    // An empty page still names a cursor: the last event older than `since`. An event committed
    // since the query above either matches `since` (and is not counted here) or is older than
    // `since`, which the caller did not ask for.
    const [before] = await query<{ last_sequence: string }>(pool, LAST_BEFORE, [
      repository,
      sinceIso,
    ]);
    return toPage([], limit, Number(before?.last_sequence ?? 0));
  }

  async lastSequence(repository: string): Promise<number> {
    const pool = this.ready();
    const [row] = await query<{ last_sequence: string }>(pool, LAST_SEQUENCE, [repository]);
    return Number(row?.last_sequence ?? 0);
  }

  async listRepositories(): Promise<string[]> {
    const pool = this.ready();
    const rows = await query<{ name: string }>(pool, LIST_REPOSITORIES, []);
    return rows.map((row) => row.name);
  }

  /**
   * The epoch of every repository of the schema: one per schema, read by `open()`. Another node
   * hears of a `newEpoch()` when it opens the store again, so restart every node after one.
   */
  async epoch(_repository: string): Promise<string> {
    this.ready();
    return this.meta!.epoch;
  }

  async newEpoch(): Promise<string> {
    const pool = this.ready();
    const epoch = uuidv7();
    await query(pool, SET_EPOCH, [epoch], 'write the epoch');
    this.meta = { ...this.meta!, epoch };
    return epoch;
  }

  async storeId(): Promise<string> {
    this.ready();
    return this.meta!.storeId;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const pool = this.pool;
    this.pool = undefined;
    if (pool && this.ownsPool) await pool.end();
  }

  /** The body of one append transaction, after BEGIN. */
  private async write(
    client: PoolClient,
    repository: string,
    events: readonly SyncEvent[],
    payloads: readonly string[],
  ): Promise<AppendOutcome[]> {
    const locked = await client.query<CounterRow>(LOCK_REPOSITORY, [repository]);
    const counter = locked.rows[0]!;
    const base = Number(counter.last_sequence);
    // Stamped after the lock is taken, so stamps follow commit order on every node whose
    // clock is right, and never decrease along the sequence on any node.
    const createdAtMs = Math.max(this.now().getTime(), Number(counter.last_created_ms));
    const serverCreatedAt = new Date(createdAtMs).toISOString();

    // Only the first occurrence of an eventId in the batch is offered for insertion.
    const firstIndex = new Map<string, number>();
    events.forEach((event, index) => {
      if (!firstIndex.has(event.eventId)) firstIndex.set(event.eventId, index);
    });
    const offered = [...firstIndex.values()];
    const inserted = await client.query<InsertedRow>(INSERT_EVENTS, [
      repository,
      offered.map((index) => events[index]!.eventId),
      offered.map((index) => payloads[index]!),
      base,
      serverCreatedAt,
    ]);
    const stored = new Map<string, { serverSequence: number; serverCreatedAt: string }>();
    let last = base;
    for (const row of inserted.rows) {
      const serverSequence = Number(row.server_sequence);
      stored.set(row.event_id, { serverSequence, serverCreatedAt });
      last = Math.max(last, serverSequence);
    }
    if (last > base) await client.query(SAVE_COUNTER, [repository, last, serverCreatedAt]);

    const known = [...firstIndex.keys()].filter((eventId) => !stored.has(eventId));
    const originals =
      known.length > 0
        ? await client.query<OriginalRow>(ORIGINALS, [repository, known])
        : undefined;
    const previous = new Map<string, { serverSequence: number; serverCreatedAt: string }>();
    for (const row of originals?.rows ?? []) previous.set(row.event_id, heldAt(row));
    return events.map((event, index): AppendOutcome => {
      const fresh = firstIndex.get(event.eventId) === index ? stored.get(event.eventId) : undefined;
      const found = fresh ?? stored.get(event.eventId) ?? previous.get(event.eventId);
      if (!found)
        throw new LocalFirstError(
          ERROR_CODES.storageFailure,
          `event ${event.eventId} was neither stored nor found`,
          { details: { repository, eventId: event.eventId } },
        );
      return { eventId: event.eventId, ...found, duplicate: fresh === undefined };
    });
  }

  private ready(): Pool {
    if (this.state === 'open') return this.pool!;
    if (this.state === 'closed') throw closedError();
    throw new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the event store first');
  }
}

async function query<Row extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: unknown[],
  what = 'read events',
): Promise<Row[]> {
  try {
    return (await pool.query<Row>(text, values)).rows;
  } catch (error) {
    throw failure(what, error);
  }
}

/** Where and when an event already held was stored, from its row of `ORIGINALS`. */
function heldAt(row: OriginalRow): { serverSequence: number; serverCreatedAt: string } {
  return {
    serverSequence: Number(row.server_sequence),
    serverCreatedAt: new Date(Number(row.created_ms)).toISOString(),
  };
}

/** Turns `limit + 1` rows into a page; `emptyCursor` is the page's lastSequence when it is empty. */
function toPage(rows: EventRow[], limit: number, emptyCursor: number): EventPage {
  const events = rows
    .slice(0, limit)
    .map((row) =>
      decodeStoredEvent(row.payload, Number(row.server_sequence), Number(row.created_ms)),
    );
  return {
    events,
    hasMore: rows.length > limit,
    lastSequence: events.at(-1)?.serverSequence ?? emptyCursor,
  };
}

function failure(what: string, error: unknown): LocalFirstError {
  if (error instanceof LocalFirstError) return error;
  return new LocalFirstError(ERROR_CODES.storageFailure, `PostgreSQL could not ${what}`, {
    cause: error,
  });
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the event store is closed');
}

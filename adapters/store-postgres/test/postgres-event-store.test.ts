import { describeEventStore } from '@local-first/contract';
import {
  createLocalFirstContainer,
  ERROR_CODES,
  type EventStore,
  type SyncEvent,
  silentLogger,
  TOKENS,
} from '@local-first/core';
import type { Fanout } from '@local-first/core/adapter';
import {
  type PostgresInstance,
  postgresMissingFor,
  startPostgres,
} from '@local-first/test-services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PostgresEventStore,
  type PostgresEventStoreOptions,
  PostgresFanout,
  postgresEventStoreModule,
  postgresFanoutModule,
} from '../src/index.js';

/** A valid insert event whose content follows from its id. */
function sampleEvent(eventId: string): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: '2025-01-23T10:00:00.000Z',
    dataId: `record-${eventId}`,
    data: { id: `record-${eventId}` },
  };
}

/** For pools of the tests: the server's shutdown may reach a connection that is still closing. */
function ignoreShutdown(): void {}

const missing = postgresMissingFor('the PostgreSQL event store tests');

describe.skipIf(missing !== undefined)('PostgresEventStore on a private PostgreSQL', () => {
  let server: PostgresInstance;
  let admin: pg.Pool;
  let schemas = 0;

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.connectionString, max: 2 });
    admin.on('error', ignoreShutdown);
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  /**
   * A new empty schema, and the store options that put the store's tables in it: the store names
   * its tables without a schema, so the connection's search_path decides where they live.
   */
  async function freshSchema(
    extra: PostgresEventStoreOptions = {},
  ): Promise<{ schema: string; options: PostgresEventStoreOptions }> {
    schemas += 1;
    const schema = `events_${schemas}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    const settings = extra.poolConfig?.options ?? '';
    return {
      schema,
      options: {
        ...extra,
        connectionString: server.connectionString,
        poolConfig: { ...extra.poolConfig, options: `-c search_path=${schema} ${settings}` },
      },
    };
  }

  describeEventStore('PostgresEventStore', async ({ now }) => {
    const { schema, options } = await freshSchema({ now });
    // Each node has a pool of one connection, as a separate server process would.
    const node = { ...options, poolConfig: { ...options.poolConfig, max: 1 } };
    return {
      store: new PostgresEventStore(options),
      reopen: async () => new PostgresEventStore(options),
      node: async () => new PostgresEventStore(node),
      teardown: async () => {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      },
    };
  });

  it('lets several nodes open the same empty schema at once', async () => {
    const { options } = await freshSchema({ poolConfig: { max: 1 } });
    const stores = Array.from({ length: 6 }, () => new PostgresEventStore(options));
    await Promise.all(stores.map((store) => store.open()));
    try {
      await stores[0]!.append('todos', [sampleEvent('a')]);
      for (const store of stores) expect(await store.lastSequence('todos')).toBe(1);
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('numbers an append only after the append before it in that repository commits', async () => {
    const { schema, options } = await freshSchema();
    // A pool of several connections: the waiting append holds one of them.
    const store = new PostgresEventStore(options);
    await store.open();
    const holder = new pg.Client({ connectionString: server.connectionString });
    await holder.connect();
    try {
      await store.append('todos', [sampleEvent('first')]);
      // Stands in for an append that has taken the repository but not committed yet.
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM ${schema}.local_first_repositories WHERE name = 'todos' FOR UPDATE`,
      );
      const waiting = store.append('todos', [sampleEvent('second')]);
      await lockWaiter();
      const other = await store.append('notes', [sampleEvent('elsewhere')]);
      expect(other[0]?.serverSequence).toBe(1);
      const visible = await store.readAfter('todos', 0, 10);
      expect(visible.events.map((event) => event.eventId)).toEqual(['first']);
      await holder.query('COMMIT');
      expect((await waiting)[0]).toMatchObject({ eventId: 'second', serverSequence: 2 });
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('leaves a pool it was given open on close', async () => {
    const { options } = await freshSchema();
    const pool = new pg.Pool({ ...options.poolConfig, connectionString: options.connectionString });
    pool.on('error', ignoreShutdown);
    const store = new PostgresEventStore({ pool });
    await store.open();
    await store.append('todos', [sampleEvent('a')]);
    await store.close();
    const count = await pool.query('SELECT count(*)::int AS n FROM local_first_events');
    expect(count.rows[0]).toEqual({ n: 1 });
    await pool.end();
  });

  it('commits with synchronous_commit at least local when the server has it off', async () => {
    const { options } = await freshSchema({
      poolConfig: { max: 1, options: '-c synchronous_commit=off' },
    });
    const pool = new pg.Pool({ ...options.poolConfig, connectionString: options.connectionString });
    pool.on('error', ignoreShutdown);
    const seen: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        if (typeof args[0] === 'string') seen.push(args[0]);
        return query(...args);
      }) as typeof client.query;
    });
    const store = new PostgresEventStore({ pool });
    await store.open();
    await store.append('todos', [sampleEvent('a')]);
    await store.close();
    await pool.end();
    expect(seen).toContain('SET LOCAL synchronous_commit TO local');
  });

  it('survives an idle connection that the server drops, and says so', async () => {
    let heard: (message: string) => void = () => {};
    const warning = new Promise<string>((resolve) => {
      heard = resolve;
    });
    const logger = { ...silentLogger, warn: (_context: object, message: string) => heard(message) };
    const { options } = await freshSchema({
      logger,
      poolConfig: { max: 1, application_name: 'dropped-by-the-server' },
    });
    const store = new PostgresEventStore(options);
    await store.open();
    try {
      await store.append('todos', [sampleEvent('a')]);
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dropped-by-the-server'",
      );
      expect(await warning).toMatch(/idle PostgreSQL connection failed/);
      expect(await store.append('todos', [sampleEvent('b')])).toMatchObject([
        { serverSequence: 2 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('rolls a failing batch back whole', async () => {
    const { options } = await freshSchema();
    const store = new PostgresEventStore(options);
    await store.open();
    try {
      await store.append('todos', [sampleEvent('a')]);
      // The NUL character cannot be stored in PostgreSQL text: the database refuses the batch.
      const refused = { ...sampleEvent('b'), eventId: 'b\u0000' };
      await expect(store.append('todos', [sampleEvent('c'), refused])).rejects.toMatchObject({
        code: ERROR_CODES.storageFailure,
      });
      expect(await store.lastSequence('todos')).toBe(1);
      expect(await store.append('todos', [sampleEvent('c')])).toMatchObject([
        { serverSequence: 2 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('fails an append whose event the database neither stored nor holds, naming the event', async () => {
    const { schema, options } = await freshSchema();
    const store = new PostgresEventStore(options);
    await store.open();
    try {
      // A trigger that drops the row silently: the insert returns nothing and nothing is held.
      await admin.query(
        `CREATE FUNCTION ${schema}.drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
      );
      await admin.query(
        `CREATE TRIGGER drop_row BEFORE INSERT ON ${schema}.local_first_events FOR EACH ROW EXECUTE FUNCTION ${schema}.drop_row()`,
      );
      await expect(store.append('todos', [sampleEvent('lost')])).rejects.toMatchObject({
        code: ERROR_CODES.storageFailure,
        details: { repository: 'todos', eventId: 'lost' },
      });
    } finally {
      await store.close();
    }
  });

  it('reports a server it cannot reach as storage_failure', async () => {
    const store = new PostgresEventStore({
      connectionString: server.database('no_such_database'),
      poolConfig: { max: 1 },
    });
    await expect(store.open()).rejects.toMatchObject({ code: ERROR_CODES.storageFailure });
  });

  /** Resolves once some backend waits for a lock (asked anew after each answer, no timer). */
  async function lockWaiter(): Promise<void> {
    for (;;) {
      const waiting = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
      );
      if (waiting.rows[0]!.n > 0) return;
    }
  }
});

describe('postgresEventStoreModule', () => {
  it('binds one store per container, built lazily and not yet connected', () => {
    const container = createLocalFirstContainer(
      postgresEventStoreModule({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }),
    );
    const store = container.get<EventStore>(TOKENS.EventStore);
    expect(store).toBeInstanceOf(PostgresEventStore);
    expect(store.kind).toBe('postgres');
    expect(container.get<EventStore>(TOKENS.EventStore)).toBe(store);
  });
});

describe('postgresFanoutModule', () => {
  it('binds one fan-out per container, not yet listening, logging to the bound logger', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const container = createLocalFirstContainer(
      postgresFanoutModule({ connectionString: 'postgres://nobody@127.0.0.1:1/none', node: 'n1' }),
    );
    container.bind(TOKENS.Logger).toConstantValue(logger);
    const fanout = container.get<Fanout>(TOKENS.Fanout);
    expect(fanout).toBeInstanceOf(PostgresFanout);
    expect(fanout.node).toBe('n1');
    expect(fanout.listening).toBe(false);
    expect(container.get<Fanout>(TOKENS.Fanout)).toBe(fanout);
  });
});

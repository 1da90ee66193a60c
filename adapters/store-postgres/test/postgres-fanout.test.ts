import { describeFanout } from '@local-first/contract';
import { ERROR_CODES, silentLogger } from '@local-first/core';
import type { Fanout, FanoutMissCause } from '@local-first/core/adapter';
import {
  type PostgresInstance,
  postgresMissingFor,
  startPostgres,
} from '@local-first/test-services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NOTICE_BYTES, PostgresFanout, type PostgresFanoutOptions } from '../src/index.js';

const missing = postgresMissingFor('the PostgreSQL fan-out tests');

/** For pools of the tests: the server's shutdown may reach a connection that is still closing. */
function ignoreShutdown(): void {}

describe.skipIf(missing !== undefined)('PostgresFanout on a private PostgreSQL', () => {
  let server: PostgresInstance;
  let admin: pg.Pool;
  let channels = 0;
  let nodes = 0;
  /** The application_name of each node's listening connection, to find its backend. */
  const listenerNames = new WeakMap<Fanout, string>();

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.connectionString, max: 2 });
    admin.on('error', ignoreShutdown);
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  /** A node on `channel` whose listening connection can be found by its application_name. */
  function makeNode(channel: string, extra: PostgresFanoutOptions = {}): PostgresFanout {
    nodes += 1;
    const applicationName = `lf-fanout-test-${nodes}`;
    const fanout = new PostgresFanout({
      connectionString: server.connectionString,
      channel,
      applicationName,
      reconnectDelayMs: 5,
      logger: silentLogger,
      ...extra,
    });
    listenerNames.set(fanout, applicationName);
    return fanout;
  }

  /** Ends the node's listening backend from the server side, as a failover or a DBA would. */
  async function terminateListener(fanout: Fanout): Promise<void> {
    const { rows } = await admin.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
      [listenerNames.get(fanout)],
    );
    expect(rows.map((row) => row.ended)).toEqual([true]);
  }

  describeFanout('PostgresFanout', async () => {
    channels += 1;
    const channel = `fanout_contract_${channels}`;
    return {
      node: async () => makeNode(channel),
      interrupt: terminateListener,
      teardown: async () => {},
    };
  });

  /** Resolves with the next cause the node reports as missed. */
  function nextMiss(fanout: Fanout): Promise<FanoutMissCause> {
    return new Promise((resolve) => {
      const stop = fanout.onMissed!((cause) => {
        stop();
        resolve(cause);
      });
    });
  }

  it('listens on a connection of its own: a pool that is all taken holds no notice back', async () => {
    const pool = new pg.Pool({ connectionString: server.connectionString, max: 1 });
    pool.on('error', ignoreShutdown);
    const busy = await pool.connect();
    const a = makeNode('fanout_own_connection');
    const b = makeNode('fanout_own_connection', { pool });
    // b opened while the only connection of its pool was taken: it cannot listen through it.
    await Promise.all([a.open(), b.open()]);
    try {
      const heard = new Promise((resolve) => b.onAnnouncement(resolve));
      await a.announce('todos', 4);
      expect(await heard).toEqual({ repository: 'todos', lastSequence: 4, node: a.node });
      const { rows } = await admin.query<{ query: string }>(
        'SELECT query FROM pg_stat_activity WHERE application_name = $1',
        [listenerNames.get(b)],
      );
      expect(rows.map((row) => row.query)).toHaveLength(1);
    } finally {
      busy.release();
      await a.close();
      await b.close();
      await pool.end();
    }
  });

  it('sends a name that does not fit without it; the receivers hear it as missed', async () => {
    const a = makeNode('fanout_overflow');
    const b = makeNode('fanout_overflow');
    await Promise.all([a.open(), b.open()]);
    try {
      const missed = nextMiss(b);
      // Fits exactly: the largest payload PostgreSQL takes.
      const overhead = JSON.stringify({ v: 1, n: a.node, s: 9, r: '' }).length;
      const fitting = 'f'.repeat(MAX_NOTICE_BYTES - overhead);
      const heard = new Promise((resolve) => b.onAnnouncement(resolve));
      await a.announce(fitting, 9);
      expect(await heard).toEqual({ repository: fitting, lastSequence: 9, node: a.node });
      await a.announce(`${fitting}!`, 10);
      expect(await missed).toBe('overflow');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('ignores notices on its channel that are not its own kind, and says so', async () => {
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (_context: object, message: string) => warnings.push(message),
    };
    const a = makeNode('fanout_foreign');
    const b = makeNode('fanout_foreign', { logger });
    await Promise.all([a.open(), b.open()]);
    try {
      const heard = new Promise((resolve) => b.onAnnouncement(resolve));
      await admin.query(`NOTIFY fanout_foreign, 'not json'`);
      await admin.query(`NOTIFY fanout_foreign, '{"v":2,"n":"x","s":1,"r":"todos"}'`);
      await a.announce('todos', 1);
      expect(await heard).toEqual({ repository: 'todos', lastSequence: 1, node: a.node });
      expect(warnings).toEqual([
        'a notice on the fan-out channel is not ours',
        'a notice on the fan-out channel is not ours',
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('listens again with backoff while the database refuses it, and reports the reconnect once', async () => {
    let refusals = 2;
    const attempts: number[] = [];
    /** Refuses the first connections after the drop, as a server that is still starting. */
    class FlakyClient extends pg.Client {
      override async connect(): Promise<pg.Client> {
        attempts.push(Date.now());
        if (attempts.length > 1 && refusals > 0) {
          refusals -= 1;
          throw new Error('the database system is starting up');
        }
        return super.connect();
      }
    }
    const a = makeNode('fanout_backoff');
    const b = makeNode('fanout_backoff', {
      pg: { Client: FlakyClient as typeof pg.Client, Pool: pg.Pool },
    });
    await Promise.all([a.open(), b.open()]);
    try {
      const missed = nextMiss(b);
      await terminateListener(b);
      expect(await missed).toBe('reconnect');
      expect(refusals).toBe(0);
      expect(attempts).toHaveLength(4);
      expect(b.listening).toBe(true);
      const heard = new Promise((resolve) => b.onAnnouncement(resolve));
      await a.announce('todos', 3);
      expect(await heard).toMatchObject({ repository: 'todos', lastSequence: 3 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('drops a listening connection that stops answering its health check, and listens again', async () => {
    const lost: unknown[] = [];
    const logger = {
      ...silentLogger,
      warn: (context: { error?: unknown }, message: string) => {
        if (message.startsWith('the fan-out lost its listening connection'))
          lost.push(context.error);
      },
    };
    const b = makeNode('fanout_health', { healthCheckIntervalMs: 50, logger });
    await b.open();
    const { rows } = await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [listenerNames.get(b)],
    );
    const pid = rows[0]!.pid;
    try {
      const missed = nextMiss(b);
      // A backend that is stopped answers nothing and closes nothing: a link that died silently.
      process.kill(pid, 'SIGSTOP');
      expect(await missed).toBe('reconnect');
      expect(lost[0]).toMatchObject({ code: ERROR_CODES.timeout, details: { timeoutMs: 50 } });
    } finally {
      process.kill(pid, 'SIGCONT');
      await b.close();
    }
  });

  it('fails to open with connection_failed when the database cannot be reached', async () => {
    const fanout = new PostgresFanout({
      connectionString: server.database('no_such_database'),
      logger: silentLogger,
    });
    await expect(fanout.open()).rejects.toMatchObject({ code: ERROR_CODES.connectionFailed });
    await fanout.close();
  });

  it('refuses a channel that is not a plain lower-case identifier, and an empty node id', () => {
    for (const channel of ['Upper', 'with-dash', '1st', 'a;drop', '', 'x'.repeat(64)]) {
      expect(() => new PostgresFanout({ channel })).toThrow(
        expect.objectContaining({ code: ERROR_CODES.invalidArgument }),
      );
    }
    expect(() => new PostgresFanout({ node: '' })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.invalidArgument }),
    );
  });
});

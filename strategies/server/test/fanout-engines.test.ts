import { type SyncEvent, silentLogger } from '@local-first/core';
import { createLocalConnectionPair, type Fanout } from '@local-first/core/adapter';
import {
  PostgresEventStore,
  PostgresFanout,
  type PostgresFanoutOptions,
} from '@local-first/store-postgres';
import {
  type PostgresInstance,
  postgresMissingFor,
  startPostgres,
} from '@local-first/test-services';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { noAuth, SyncEngine } from '../src/engine/index.js';

const missing = postgresMissingFor('the engines-over-PostgreSQL tests');

type Message = { type: string } & Record<string, unknown>;
const WAIT_MS = 5_000;

/** A protocol client on an engine, over an in-memory connection. */
class Client {
  private readonly inbox: Message[] = [];
  private readonly history: Message[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly end = createLocalConnectionPair();
  private requests = 0;

  constructor(
    engine: SyncEngine,
    readonly name: string,
  ) {
    this.end.client.onMessage((raw) => {
      this.inbox.push(raw as Message);
      this.history.push(raw as Message);
      for (const waiter of [...this.waiters]) waiter();
    });
    engine.accept(this.end.server, { headers: {}, remoteAddress: '127.0.0.1', transport: 'local' });
  }

  static async connect(engine: SyncEngine, name: string, repository = 'todos'): Promise<Client> {
    const client = new Client(engine, name);
    await client.request({ type: 'auth', token: 'any' }, 'auth_success');
    await client.request({ type: 'request_events', repository }, 'sync_complete');
    return client;
  }

  /** Sends a request and resolves with its answer of type `answer`. */
  request(message: object, answer: string): Promise<Message> {
    const requestId = `${this.name}-${++this.requests}`;
    this.end.client.send({ ...message, requestId });
    return this.take(
      (m) => m.type === answer && m.requestId === requestId,
      `${answer} of ${requestId}`,
    );
  }

  push(events: SyncEvent[], repository = 'todos'): Promise<Message> {
    return this.request({ type: 'push_events_batch', repository, events }, 'ack');
  }

  /** The next live broadcast: an `events` message that answers no request. */
  live(): Promise<Message> {
    return this.take((m) => m.type === 'events' && !('requestId' in m), 'a live events message');
  }

  /** The next message that matches, already received or to come; fails naming what came. */
  take(matches: (message: Message) => boolean, what: string): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.inbox.findIndex(matches);
        if (index < 0) return false;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.inbox.splice(index, 1)[0]!);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.history.slice(-8).map((m) => JSON.stringify(m).slice(0, 200));
        reject(new Error(`${this.name}: no ${what} within ${WAIT_MS} ms; got ${seen.join(', ')}`));
      }, WAIT_MS);
      if (!check()) this.waiters.add(check);
    });
  }
}

function sample(eventId: string): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: '2025-01-23T10:00:00.000Z',
    dataId: `record-${eventId}`,
    data: { id: `record-${eventId}` },
  };
}

function ids(message: Message): string[] {
  return (message.events as SyncEvent[]).map((event) => event.eventId);
}

describe.skipIf(missing !== undefined)(
  'SyncEngines on one PostgreSQL, joined by PostgresFanout',
  () => {
    let server: PostgresInstance;
    let admin: pg.Pool;
    let databases = 0;
    let cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      server = await startPostgres();
      admin = new pg.Pool({ connectionString: server.connectionString, max: 1 });
      admin.on('error', () => {});
    }, 60_000);

    afterEach(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
      cleanups = [];
    });

    afterAll(async () => {
      await admin?.end();
      await server?.stop();
    });

    /** A database of its own for the running test. */
    async function database(): Promise<string> {
      databases += 1;
      const name = `engines_${databases}`;
      await admin.query(`CREATE DATABASE ${name}`);
      return server.database(name);
    }

    /** One server node: its own store (pool) and fan-out over the database. */
    async function node(url: string, name: string, fanoutOptions: PostgresFanoutOptions = {}) {
      const store = new PostgresEventStore({ connectionString: url, poolConfig: { max: 2 } });
      await store.open();
      const fanout: Fanout = new PostgresFanout({
        connectionString: url,
        applicationName: `fanout-${name}`,
        reconnectDelayMs: 5,
        logger: silentLogger,
        ...fanoutOptions,
      });
      await fanout.open();
      const engine = new SyncEngine({
        store,
        authenticator: noAuth({ logger: silentLogger }),
        fanout,
      });
      cleanups.push(async () => {
        await engine.close();
        await fanout.close();
        await store.close();
      });
      return { engine, store, fanout };
    }

    it('delivers a push on engine A live to a client of engine B', async () => {
      const url = await database();
      const a = await node(url, 'a');
      const b = await node(url, 'b');
      const onB = await Client.connect(b.engine, 'reader-b');
      const writer = await Client.connect(a.engine, 'writer-a');
      expect(await writer.push([sample('e1'), sample('e2')])).toMatchObject({ lastSequence: 2 });
      const relayed = await onB.live();
      expect(ids(relayed)).toEqual(['e1', 'e2']);
      expect(relayed).toMatchObject({ lastSequence: 2, epoch: await b.store.epoch('todos') });
    });

    it("repairs after B's listening connection was terminated while A pushed", async () => {
      const url = await database();
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let noticed = () => {};
      const reconnecting = new Promise<void>((resolve) => {
        noticed = resolve;
      });
      let connects = 0;
      /** Holds B's attempt to listen again until A has pushed: B can only learn of it by repair. */
      class HeldClient extends pg.Client {
        override async connect(): Promise<pg.Client> {
          connects += 1;
          if (connects > 1) {
            noticed();
            await gate;
          }
          return super.connect();
        }
      }
      const a = await node(url, 'a2');
      const b = await node(url, 'b2', {
        pg: { Client: HeldClient as typeof pg.Client, Pool: pg.Pool },
      });
      const onB = await Client.connect(b.engine, 'reader-b');
      const writer = await Client.connect(a.engine, 'writer-a');
      await writer.push([sample('before')]);
      expect(ids(await onB.live())).toEqual(['before']);

      const ended = await admin.query<{ ended: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = 'fanout-b2'",
      );
      expect(ended.rows).toEqual([{ ended: true }]);
      await reconnecting;
      expect(await writer.push([sample('while-down-1'), sample('while-down-2')])).toMatchObject({
        lastSequence: 3,
      });
      release();
      const repaired = await onB.live();
      expect(ids(repaired)).toEqual(['while-down-1', 'while-down-2']);
      expect(repaired.lastSequence).toBe(3);
    });

    it('relays an event whose node crashed before announcing it, once a client re-sends it', async () => {
      const url = await database();
      const b = await node(url, 'b3');
      const c = await node(url, 'c3');
      const onB = await Client.connect(b.engine, 'reader-b');
      const onC = await Client.connect(c.engine, 'reader-c');
      // Node A: committed, then killed before its broadcast, announce and ack.
      const crashed = new PostgresEventStore({ connectionString: url, poolConfig: { max: 1 } });
      await crashed.open();
      await crashed.append('todos', [sample('orphan')]);
      await crashed.close();
      const resender = await Client.connect(b.engine, 'resender', 'notes');
      expect(await resender.push([sample('orphan')])).toMatchObject({ duplicates: ['orphan'] });
      expect(ids(await onB.live())).toEqual(['orphan']);
      expect(ids(await onC.live())).toEqual(['orphan']);
    });
  },
);

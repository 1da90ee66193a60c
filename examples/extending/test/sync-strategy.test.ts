import {
  describeSync,
  type RestSyncSetup,
  SYNC_TEST_TIMEOUT_MS,
  SYNC_WAIT_MS,
} from '@local-first/contract';
import {
  createLocalFirstContainer,
  localFirstClientModule,
  Repository,
  repositoriesModule,
  resolveClient,
  silentLogger,
} from '@local-first/core';
import { parsePosition } from '@local-first/core/adapter';
import { type RunningServer, startSyncServer } from '@local-first/server';
import { MemoryStorageAdapter, memoryStorageModule } from '@local-first/storage-memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FetchFunction,
  PollingStrategy,
  pollingStrategyModule,
} from '../src/strategy/index.js';
import {
  converged,
  type Device,
  openDevice,
  pendingOperations,
  synced,
  type Todo,
} from './devices.js';

// Two clients with the polling strategy against a real server over loopback HTTP. Rounds run
// on `syncNow()` (the interval is far longer than a test), so every step is awaited, not timed.

const NEVER_MS = 3_600_000;

/** The server of `@local-first/server` on a memory store; `restart` keeps the port, not the data. */
class RestServer {
  private running: RunningServer | undefined;
  private port = 0;

  constructor(private readonly maxPageEvents = 1000) {}

  get url(): string {
    return this.running?.url ?? '';
  }

  async start(): Promise<void> {
    this.running = await startSyncServer({
      port: this.port,
      host: '127.0.0.1',
      store: { kind: 'memory' },
      auth: { kind: 'none' },
      staticDir: undefined,
      metrics: false,
      limits: { maxPageEvents: this.maxPageEvents },
      logger: silentLogger,
    });
    this.port = this.running.port;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }
}

/** A `fetch` that records each request as `METHOD path?query`. */
function recordingFetch(log: string[]): FetchFunction {
  return (input, init) => {
    const url = new URL(input);
    log.push(`${init.method ?? 'GET'} ${url.pathname}${url.search}`);
    return fetch(input, init);
  };
}

describe('two clients with the polling strategy', { timeout: SYNC_TEST_TIMEOUT_MS }, () => {
  const server = new RestServer();
  const requests: string[] = [];
  let ann: Device<PollingStrategy>;
  let bob: Device<PollingStrategy>;

  const polling = (token: string) =>
    new PollingStrategy({
      baseUrl: server.url,
      fetch: recordingFetch(requests),
      authToken: token,
      repositories: ['todos'],
      intervalMs: NEVER_MS,
      // Two events a page, so every pull of these tests takes several pages.
      pageSize: 2,
    });

  /** `syncNow()`, bounded: a round that never ends fails with the state and the last requests. */
  async function round(device: Device<PollingStrategy>): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const last = requests.slice(-3).join(', ');
        const state = device.strategy.connectionState;
        reject(
          new Error(
            `${device.name}'s round did not end in ${SYNC_WAIT_MS} ms (${state}); last requests: ${last}`,
          ),
        );
      }, SYNC_WAIT_MS);
    });
    try {
      return await Promise.race([device.strategy.syncNow(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One round on each device, then one more on the first: each has what the other wrote. */
  async function exchange(): Promise<void> {
    for (const device of [ann, bob, ann])
      expect(await round(device), `round of ${device.name}`).toBe(true);
  }

  beforeAll(async () => {
    await server.start();
    ann = await openDevice('ann', polling('token-ann'));
    bob = await openDevice('bob', polling('token-bob'));
    await Promise.all([ann.client.start(), bob.client.start()]);
    await Promise.all([synced(ann), synced(bob)]);
  }, SYNC_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await ann?.client.dispose();
    await bob?.client.dispose();
    await server.stop();
  }, SYNC_TEST_TIMEOUT_MS);

  it('converge on writes and deletes made on both', async () => {
    await ann.todos.upsert({ id: 'a1', title: 'milk' });
    await ann.todos.upsert({ id: 'a2', title: 'eggs' });
    await bob.todos.upsert({ id: 'b1', title: 'bread' });
    await exchange();
    const first = ['a1:milk', 'a2:eggs', 'b1:bread'];
    await converged(ann, first);
    await converged(bob, first);

    await bob.todos.upsert({ id: 'a1', title: 'oat milk' });
    await ann.todos.delete('b1');
    await exchange();
    const second = ['a1:oat milk', 'a2:eggs', 'b1:deleted'];
    await converged(ann, second);
    await converged(bob, second);
  });

  it('keeps a cursor and asks only for what comes after it', async () => {
    const key = `polling:cursor:${server.url}:todos`;
    const cursor = async (device: Device<PollingStrategy>) =>
      parsePosition(await device.client.storage.getMeta(key)).sequence;
    // Five events on the server. Bob pushed the fifth after his pull: a cursor moves over
    // pulled events only, so his own event comes back once, at his next pull.
    expect(await cursor(ann)).toBe(5);
    expect(await cursor(bob)).toBe(4);
    requests.length = 0;
    expect(await round(bob)).toBe(true);
    expect(await round(bob)).toBe(true);
    expect(requests).toEqual([
      'GET /api/events/todos?afterSequence=4&limit=2',
      'GET /api/events/todos?afterSequence=5&limit=2',
    ]);
    expect(await cursor(bob)).toBe(5);
  });

  it('converge after both went offline, wrote, and came back', async () => {
    await ann.client.stop();
    await bob.client.stop();
    await ann.todos.upsert({ id: 'a3', title: 'written offline' });
    await ann.todos.delete('a2');
    await bob.todos.upsert({ id: 'b2', title: 'also offline' });
    await bob.todos.delete('a1');
    expect(await pendingOperations(ann)).toEqual([0, 2]);
    expect(await pendingOperations(bob)).toEqual([0, 2]);
    // A stopped strategy runs no round.
    expect(await round(ann)).toBe(false);

    await ann.client.start();
    await bob.client.start();
    await exchange();
    const expected = [
      'a1:deleted',
      'a2:deleted',
      'a3:written offline',
      'b1:deleted',
      'b2:also offline',
    ];
    await converged(ann, expected);
    await converged(bob, expected);
    expect(await pendingOperations(ann)).toEqual([]);
    expect(await pendingOperations(bob)).toEqual([]);
  });

  it('starts over, and pushes its own changes again, when the server lost its data', async () => {
    // A memory store starts empty, with a new epoch: every cursor points into a log that is gone.
    await server.restart();
    // A request after the restart may meet a kept-alive socket that the old server closed
    // (fetch keeps one per request that ran at the same time): that round fails, the next
    // one goes through.
    for (const device of [ann, bob, ann]) {
      const outcomes: boolean[] = [];
      while (outcomes.length < 3 && !outcomes.includes(true)) outcomes.push(await round(device));
      expect(outcomes, `rounds of ${device.name} after the restart`).toContain(true);
    }
    const expected = [
      'a1:deleted',
      'a2:deleted',
      'a3:written offline',
      'b1:deleted',
      'b2:also offline',
    ];
    await converged(ann, expected);
    await converged(bob, expected);
    const key = `polling:cursor:${server.url}:todos`;
    expect(parsePosition(await ann.client.storage.getMeta(key)).sequence).toBe(9);
  });
});

describe('the polling interval', { timeout: SYNC_TEST_TIMEOUT_MS }, () => {
  const server = new RestServer();
  const devices: Device<PollingStrategy>[] = [];

  beforeAll(() => server.start(), SYNC_TEST_TIMEOUT_MS);
  afterAll(async () => {
    for (const device of devices) await device.client.dispose();
    await server.stop();
  }, SYNC_TEST_TIMEOUT_MS);

  it('brings a change to the other client without syncNow(), one of them built by DI', async () => {
    const ann = await openDevice(
      'ann',
      new PollingStrategy({ baseUrl: server.url, intervalMs: 10 }),
    );
    devices.push(ann);
    const todos = new Repository<Todo>({ name: 'todos' });
    const client = resolveClient(
      createLocalFirstContainer(
        pollingStrategyModule({ baseUrl: server.url, intervalMs: 10 }),
        memoryStorageModule(),
        repositoriesModule(todos),
        localFirstClientModule({ logger: silentLogger }),
      ),
    );
    await client.initialize();
    const bob = { name: 'bob', client, todos, strategy: client.strategies[0] as PollingStrategy };
    expect(bob.strategy).toBeInstanceOf(PollingStrategy);
    devices.push(bob);
    await Promise.all([ann.client.start(), bob.client.start()]);
    await ann.todos.upsert({ id: 't1', title: 'by the interval' });
    await converged(bob, ['t1:by the interval']);
  });
});

// The whole sync suite over REST. The memory store does not outlive a restart, so the
// server-restart scenario is skipped (the test above restarts it on purpose).
describeSync('polling strategy × rest × store-memory', async () => {
  const maxPageEvents = 20;
  const server = new RestServer(maxPageEvents);
  await server.start();
  const devices = new Map<string, MemoryStorageAdapter>();
  const setup: RestSyncSetup = {
    wire: 'rest',
    baseUrl: server.url,
    storage: async (device) => {
      const adapter = devices.get(device) ?? new MemoryStorageAdapter();
      devices.set(device, adapter);
      return adapter;
    },
    tokens: ['token-ann', 'token-bob'],
    restartServer: () => server.restart(),
    durableServer: false,
    maxPageEvents,
    teardown: () => server.stop(),
    strategy: ({ fetch, token, repositories }) =>
      new PollingStrategy({
        baseUrl: server.url,
        fetch,
        authToken: token,
        repositories,
        intervalMs: 20,
        pageSize: maxPageEvents,
      }),
  };
  return setup;
});

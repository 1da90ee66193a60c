import { describeSync, SYNC_TEST_TIMEOUT_MS, type WebSocketSyncSetup } from '@local-first/contract';
import {
  createLocalFirstContainer,
  TOKENS as DI,
  type EventStore,
  localFirstClientModule,
  Repository,
  repositoriesModule,
  resolveClient,
  silentLogger,
  type Transport,
} from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import { SERVER_TOKENS, SyncEngine, staticTokens, syncEngineModule } from '@local-first/server';
import { MemoryStorageAdapter, memoryStorageModule } from '@local-first/storage-memory';
import { MemoryEventStore, memoryEventStoreModule } from '@local-first/store-memory';
import { WebSocketSyncStrategy, webSocketSyncModule } from '@local-first/websocket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NdjsonTransport,
  NdjsonTransportServer,
  ndjsonTransportModule,
  ndjsonTransportServerModule,
} from '../src/transport/index.js';
import {
  converged,
  type Device,
  openDevice,
  pendingOperations,
  synced,
  type Todo,
} from './devices.js';

// Two clients sync through the server engine over the NDJSON transport: the engine and the
// WebSocket strategy are written against the transport contracts, so neither knows that no
// WebSocket is involved.

const TOKENS = { 'token-ann': 'ann', 'token-bob': 'bob' } as const;
const [ANN, BOB] = Object.keys(TOKENS) as [string, string];

/** The engine over one memory store, on the NDJSON server half; restartable on its port. */
class NdjsonSyncServer {
  readonly store = new MemoryEventStore();
  url = '';
  private port = 0;
  private engine: SyncEngine | undefined;

  constructor(private readonly limits: { maxPageEvents?: number } = {}) {}

  async start(): Promise<void> {
    await this.store.open();
    await this.listen();
  }

  /** A new engine and listener over the same store, on the same port: a process restart. */
  async restart(): Promise<void> {
    await this.engine?.close();
    await this.listen();
  }

  async stop(): Promise<void> {
    await this.engine?.close();
    await this.store.close();
  }

  private async listen(): Promise<void> {
    const engine = new SyncEngine({
      store: this.store,
      authenticator: staticTokens(TOKENS),
      limits: this.limits,
    });
    const server = new NdjsonTransportServer({
      port: this.port,
      maxFrameBytes: engine.limits.maxFrameBytes,
    });
    engine.attach(server);
    ({ port: this.port, url: this.url } = await server.listen());
    this.engine = engine;
  }
}

function strategy(
  url: string,
  transport: Transport,
  token: string,
  repositories = ['todos'],
): WebSocketSyncStrategy {
  return new WebSocketSyncStrategy({
    websocketUrl: url,
    transport,
    authToken: token,
    repositories,
    // Quick reconnects keep the test short; the defaults are for real networks.
    reconnectDelay: 20,
    maxReconnectDelay: 200,
  });
}

describe('two clients over the NDJSON transport', { timeout: SYNC_TEST_TIMEOUT_MS }, () => {
  const server = new NdjsonSyncServer();
  let ann: Device<WebSocketSyncStrategy>;
  let bob: Device<WebSocketSyncStrategy>;

  beforeAll(async () => {
    await server.start();
    ann = await openDevice('ann', strategy(server.url, new NdjsonTransport(), ANN));
    bob = await openDevice('bob', strategy(server.url, new NdjsonTransport(), BOB));
    await Promise.all([ann.client.start(), bob.client.start()]);
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
    const first = ['a1:milk', 'a2:eggs', 'b1:bread'];
    await converged(ann, first);
    await converged(bob, first);

    await bob.todos.upsert({ id: 'a1', title: 'oat milk' });
    await ann.todos.delete('b1');
    const second = ['a1:oat milk', 'a2:eggs', 'b1:deleted'];
    await converged(ann, second);
    await converged(bob, second);
    await Promise.all([synced(ann), synced(bob)]);
  });

  it('converge after both went offline, wrote, and came back', async () => {
    await Promise.all([synced(ann), synced(bob)]);
    await ann.client.stop();
    await bob.client.stop();

    await ann.todos.upsert({ id: 'a3', title: 'written offline' });
    await ann.todos.delete('a2');
    await bob.todos.upsert({ id: 'b2', title: 'also offline' });
    await bob.todos.delete('a1');
    expect(await pendingOperations(ann)).toEqual([0, 2]);
    expect(await pendingOperations(bob)).toEqual([0, 2]);

    await ann.client.start();
    await bob.client.start();
    await Promise.all([synced(ann), synced(bob)]);
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
});

describe('the NDJSON transport wired through containers', { timeout: SYNC_TEST_TIMEOUT_MS }, () => {
  it('carries a change from a client to the server', async () => {
    // The server's container: the engine attaches every bound TransportServer.
    const server = createLocalFirstContainer(
      memoryEventStoreModule(),
      ndjsonTransportServerModule(),
      syncEngineModule(),
    );
    server.bind(SERVER_TOKENS.Authenticator).toConstantValue(staticTokens(TOKENS));
    const store = server.get<EventStore>(DI.EventStore);
    await store.open();
    const engine = server.get<SyncEngine>(SERVER_TOKENS.SyncEngine);
    const transportServer = server.get<TransportServer>(DI.TransportServer);
    const { url } = await (transportServer as NdjsonTransportServer).listen();

    // The client's container: the strategy takes the bound Transport.
    const todos = new Repository<Todo>({ name: 'todos' });
    const client = resolveClient(
      createLocalFirstContainer(
        ndjsonTransportModule(),
        webSocketSyncModule({ websocketUrl: url, authToken: ANN }),
        memoryStorageModule(),
        repositoriesModule(todos),
        localFirstClientModule({ logger: silentLogger }),
      ),
    );
    try {
      await client.initialize();
      await client.start();
      const event = await todos.upsert({ id: 'c1', title: 'through the containers' });
      await synced({
        name: 'client',
        client,
        todos,
        strategy: client.strategies[0] as WebSocketSyncStrategy,
      });
      const page = await store.readAfter('todos', 0, 10);
      expect(page.events.map((stored) => stored.eventId)).toEqual([event.eventId]);
    } finally {
      await client.dispose();
      await engine.close();
      await store.close();
    }
  });
});

// The whole sync suite over the same pair. The store outlives the engine, so the server
// restart scenario runs too.
describeSync('websocket strategy × ndjson transport × store-memory', async () => {
  const maxPageEvents = 20;
  const server = new NdjsonSyncServer({ maxPageEvents });
  await server.start();
  const devices = new Map<string, MemoryStorageAdapter>();
  const setup: WebSocketSyncSetup = {
    wire: 'websocket',
    storage: async (device) => {
      const adapter = devices.get(device) ?? new MemoryStorageAdapter();
      devices.set(device, adapter);
      return adapter;
    },
    tokens: [ANN, BOB],
    restartServer: () => server.restart(),
    durableServer: true,
    maxPageEvents,
    teardown: () => server.stop(),
    transport: () => new NdjsonTransport(),
    websocketUrl: server.url,
    strategy: ({ transport, token, repositories }) =>
      strategy(server.url, transport, token, repositories),
  };
  return setup;
});

import {
  createLocalConnectionPair,
  ERROR_CODES,
  LocalFirstClient,
  LocalFirstError,
  type RecordData,
  Repository,
  type StorageAdapter,
  type Stored,
  type Subscribable,
  silentLogger,
  type Transport,
  type TransportConnection,
} from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { MemoryEventStore } from '@local-first/store-memory';
import { WebSocketSyncStrategy, type WebSocketSyncStrategyOptions } from '../src/index.js';
import { SyncEngine, type SyncEngineOptions, staticTokens } from '../src/server/index.js';
import { TOKENS_FIXTURE } from './engine-fixtures.js';

/**
 * An engine over a memory store whose commit clock is the (possibly fake) system clock, as a
 * real server's is: clients judge stamps against `serverCreatedAt`, so a store clock stuck in
 * the past would make every fresh stamp look far in the future.
 */
export async function makeEngine(options: Partial<SyncEngineOptions> = {}) {
  const store = new MemoryEventStore({ now: () => new Date() });
  await store.open();
  const engine = new SyncEngine({ store, authenticator: staticTokens(TOKENS_FIXTURE), ...options });
  return { engine, store };
}

export interface Todo extends RecordData {
  id: string;
  title: string;
}

/**
 * A transport that connects straight to an in-process engine. `online = false` refuses new
 * connections, `dropAll()` cuts the open ones: a server outage without sockets.
 */
export class LocalTransport implements Transport {
  readonly name = 'local';
  online = true;
  /** While true, what clients send is lost on the way: a dead link that no close reports. */
  silent = false;
  opened = 0;
  /** Every message clients sent, in order, for assertions. */
  readonly sent: { type: string }[] = [];
  private readonly open_ = new Set<TransportConnection>();

  constructor(private readonly engine: SyncEngine) {}

  async open(
    _url: string,
    options: { headers?: Record<string, string> } = {},
  ): Promise<TransportConnection> {
    if (!this.online) throw new LocalFirstError(ERROR_CODES.connectionFailed, 'server unreachable');
    this.opened += 1;
    const { client, server } = createLocalConnectionPair();
    const headers = Object.fromEntries(
      Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    this.engine.accept(server, { headers, remoteAddress: '127.0.0.1', transport: 'local' });
    this.open_.add(client);
    client.onClose(() => this.open_.delete(client));
    const send = client.send.bind(client);
    client.send = (message: object) => {
      this.sent.push(message as { type: string });
      if (!this.silent) send(message);
    };
    return client;
  }

  dropAll(code = 1006): void {
    for (const connection of this.open_) connection.close(code, 'dropped');
  }
}

export async function makeReplica(
  engine: SyncEngine,
  options: Partial<WebSocketSyncStrategyOptions> & {
    storage?: StorageAdapter;
    transport?: LocalTransport;
  } = {},
) {
  const transport = options.transport ?? new LocalTransport(engine);
  const todos = new Repository<Todo>({ name: 'todos' });
  const strategy = new WebSocketSyncStrategy({
    websocketUrl: 'ws://in-process/sync',
    authToken: 'token-alice',
    reconnectDelay: 100,
    random: () => 0.5,
    ...options,
    transport,
  });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: options.storage ?? new MemoryStorageAdapter(),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  return { client, todos, strategy, transport };
}

/** Resolves with the first value the source emits (now or later) that passes the test. */
export function until<T>(source: Subscribable<T>, test: (value: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    let done = false;
    let unsubscribe: (() => void) | undefined;
    unsubscribe = source.subscribe((value) => {
      if (done || !test(value)) return;
      done = true;
      queueMicrotask(() => unsubscribe?.());
      resolve(value);
    });
  });
}

export function titles(items: Stored<Todo>[]): string[] {
  return items.map((item) => `${item.id}:${item.title}`);
}

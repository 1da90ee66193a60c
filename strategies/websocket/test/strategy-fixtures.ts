import {
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
} from '@local-first/core';
import {
  BaseTransportConnection,
  CLOSE_CODES,
  createLocalConnectionPair,
  type LocalConnection,
  type TransportConnection,
} from '@local-first/core/adapter';
import { SyncEngine, type SyncEngineOptions, staticTokens } from '@local-first/server';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { MemoryEventStore } from '@local-first/store-memory';
import { WebSocketSyncStrategy, type WebSocketSyncStrategyOptions } from '../src/index.js';

/** The tokens every engine of these tests accepts. */
export const TOKENS_FIXTURE = { 'token-alice': 'alice', 'token-bob': 'bob' };

/**
 * An engine over a memory store whose commit clock is the (possibly fake) system clock, as a
 * real server's is: clients judge stamps against `serverCreatedAt`, so a store clock stuck in
 * the past would make every fresh stamp look far in the future.
 */
export async function makeEngine(options: Partial<SyncEngineOptions> = {}) {
  return engineOver(SyncEngine, options);
}

async function engineOver<E extends SyncEngine>(
  Engine: new (options: SyncEngineOptions) => E,
  options: Partial<SyncEngineOptions>,
) {
  const store = new MemoryEventStore({ now: () => new Date() });
  await store.open();
  const engine = new Engine({ store, authenticator: staticTokens(TOKENS_FIXTURE), ...options });
  return { engine, store };
}

/** A push as the engine received it: the user of the connection (or request), and its events. */
export interface ReceivedPush {
  userId: string;
  repository: string;
  eventIds: string[];
}

/** An engine that notes the user every push arrives with, before it judges the push. */
export class RecordingEngine extends SyncEngine {
  readonly pushes: ReceivedPush[] = [];
  private readonly open = new Set<TransportConnection>();

  override accept(...args: Parameters<SyncEngine['accept']>): void {
    const [connection] = args;
    this.open.add(connection);
    connection.onClose(() => this.open.delete(connection));
    super.accept(...args);
  }

  /** Cuts every open connection from the server's side; clients reconnect. */
  dropConnections(code = 4000): void {
    for (const connection of [...this.open]) connection.close(code, 'dropped');
  }

  override push(...args: Parameters<SyncEngine['push']>): ReturnType<SyncEngine['push']> {
    const [user, repository, candidates] = args;
    const eventIds = candidates.flatMap((candidate) => {
      const eventId = (candidate as { eventId?: unknown } | null)?.eventId;
      return typeof eventId === 'string' ? [eventId] : [];
    });
    this.pushes.push({ userId: user.userId, repository, eventIds });
    return super.push(...args);
  }

  /** The users that pushed each event id. */
  usersByEvent(): Map<string, Set<string>> {
    const users = new Map<string, Set<string>>();
    for (const push of this.pushes) {
      for (const eventId of push.eventIds) {
        const seenBy = users.get(eventId) ?? new Set<string>();
        seenBy.add(push.userId);
        users.set(eventId, seenBy);
      }
    }
    return users;
  }
}

/** `makeEngine`, with an engine that records who pushed what. */
export function makeRecordingEngine(options: Partial<SyncEngineOptions> = {}) {
  return engineOver(RecordingEngine, options);
}

export interface Todo extends RecordData {
  id: string;
  title: string;
}

/** What a link of the `LocalTransport` does that a kind in-memory pair would not. */
export interface LinkBehaviour {
  /** A frame over this many UTF-8 bytes is refused by the server with a 1009 close, as `ws` does. */
  maxFrameBytes?: number;
  /** A close we start completes (is reported) this much later: the close handshake. */
  closeHandshakeMs?: number;
  /** A close started on a dead link completes only after this long (`ws` waits 30 s). */
  deadCloseMs?: number;
  /** Answers a client message in the server's stead (an injected `error`), or lets it through. */
  intercept?: (message: { type: string } & Record<string, unknown>) => object | undefined;
  /** An intercepted answer arrives this much later (a server that takes its time). */
  interceptDelayMs?: number;
}

/** The client end of a `LocalTransport` link, with a real link's close and frame limit. */
class LinkEnd extends BaseTransportConnection {
  private open = true;
  private closeReported = false;

  constructor(
    private readonly inner: LocalConnection,
    private readonly server: LocalConnection,
    private readonly transport: LocalTransport,
  ) {
    super(true);
    inner.onMessage((message) => this.deliver(() => this.messages.emit(message)));
    inner.onClose((info) => {
      // Closed by the server (or the pair): reported at once, as a real close frame would be.
      if (!this.open) return;
      this.open = false;
      this.report(info);
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(message: object): void {
    if (!this.open)
      throw new LocalFirstError(ERROR_CODES.connectionClosed, 'the connection is closed');
    const typed = message as { type: string } & Record<string, unknown>;
    this.transport.sent.push(typed);
    if (this.transport.silent) return;
    const limit = this.transport.behaviour.maxFrameBytes;
    if (limit !== undefined && Buffer.byteLength(JSON.stringify(message)) > limit) {
      this.server.close(CLOSE_CODES.tooLarge, 'frame too large');
      return;
    }
    const answer = this.transport.behaviour.intercept?.(typed);
    if (answer) {
      const copy = JSON.parse(JSON.stringify(answer)) as unknown;
      const arrive = () => {
        if (this.open) this.deliver(() => this.messages.emit(copy));
      };
      const delay = this.transport.behaviour.interceptDelayMs;
      if (delay === undefined) queueMicrotask(arrive);
      else setTimeout(arrive, delay);
      return;
    }
    this.inner.send(message);
  }

  close(code = 1000, reason = ''): void {
    if (!this.open) return;
    this.open = false;
    // Like a WebSocket in CLOSING: nothing more is sent, and the close is reported only when
    // the handshake completes, which on a dead link takes until its timeout.
    const { closeHandshakeMs = 0, deadCloseMs = 30_000 } = this.transport.behaviour;
    const delay = this.transport.silent ? deadCloseMs : closeHandshakeMs;
    setTimeout(() => {
      this.inner.close(code, reason);
      this.report({ code, reason });
    }, delay);
  }

  private report(info: { code: number; reason: string }): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.deliver(() => this.closes.emit(info));
  }
}

/**
 * A transport that connects straight to an in-process engine, over links that behave like
 * real ones where it matters (`behaviour`): frame limit, slow close handshake, a dead link
 * (`silent`) whose close never completes in time, injected server answers. `online = false`
 * refuses new connections, `dropAll()` cuts the open ones: a server outage without sockets.
 */
export class LocalTransport implements Transport {
  readonly name = 'local';
  online = true;
  /** While true, what clients send is lost on the way: a dead link that no close reports. */
  silent = false;
  opened = 0;
  /** Every message clients sent, in order, for assertions. */
  readonly sent: ({ type: string } & Record<string, unknown>)[] = [];
  private readonly open_ = new Set<LocalConnection>();

  constructor(
    private readonly engine: SyncEngine,
    readonly behaviour: LinkBehaviour = {},
  ) {}

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
    this.open_.add(server);
    server.onClose(() => this.open_.delete(server));
    return new LinkEnd(client, server, this);
  }

  /** Cuts every open link from the server's side. */
  dropAll(code = 1006): void {
    for (const connection of this.open_) connection.close(code, 'dropped');
  }

  /** Messages of one type the clients sent. */
  sentOf(type: string): ({ type: string } & Record<string, unknown>)[] {
    return this.sent.filter((message) => message.type === type);
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

export function titles(items: readonly Stored<Todo>[]): string[] {
  return items.map((item) => `${item.id}:${item.title}`);
}

/**
 * Resolves with the first value the source emits (now or later) that passes the test; after
 * `limitMs` (real time) fails with what it waited for and the values it saw instead.
 */
export function seen<T>(
  source: Subscribable<T>,
  test: (value: T) => boolean,
  what: string,
  limitMs = 10_000,
): Promise<T> {
  const values: T[] = [];
  return new Promise((resolve, reject) => {
    let unsubscribe: (() => void) | undefined;
    const timer = setTimeout(() => {
      unsubscribe?.();
      const last = values.slice(-5).map((value) => JSON.stringify(value));
      reject(
        new Error(`waited ${limitMs} ms for ${what}; saw ${values.length} values, last: ${last}`),
      );
    }, limitMs);
    let done = false;
    unsubscribe = source.subscribe((value) => {
      values.push(value);
      if (done || !test(value)) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe?.());
      resolve(value);
    });
  });
}

/** The meta key of the strategy's cursor of a repository, for a replica of `makeReplica`. */
export function cursorKeyOf(repository: string, name = 'websocket'): string {
  return `${name}:cursor:ws://in-process/sync:${repository}`;
}

import type { SyncEvent, Unsubscribe } from '@local-first/core';
import type {
  AckMessage,
  CloseInfo,
  ErrorMessage,
  IncomingConnectionInfo,
  InvalidFrame,
  ServerEvent,
  TransportConnection,
} from '@local-first/core/adapter';
import { type Authorizer, SyncEngine, staticTokens } from '@local-first/server';
import { MemoryEventStore } from '@local-first/store-memory';
import type { Acceptor } from './link.js';

export const CLIENT_TOKEN = 'token-alice';
export const CLIENT_USER = 'alice';
export const FOREIGN_USER = 'carol';

export type InjectableRequest = 'push_events_batch' | 'request_events' | 'auth';
export type InjectedCode =
  | 'internal'
  | 'rate_limited'
  | 'forbidden'
  | 'invalid_message'
  | 'too_large';

interface Armed {
  requestType: InjectableRequest;
  code: InjectedCode;
  remaining: number;
}

type Request = {
  type?: unknown;
  repository?: unknown;
  requestId?: unknown;
  events?: unknown;
};

/**
 * Sits between a link and the engine and answers chosen requests with an `error` instead of
 * handing them on, as a server that failed on them would (revision 1.1 fields included).
 */
export class FaultInjector {
  private armed: Armed[] = [];
  /** When each injected error was sent. */
  readonly fired: { at: number; requestType: string; code: string }[] = [];

  constructor(private readonly onFire: (what: string) => void = () => undefined) {}

  arm(requestType: InjectableRequest, code: InjectedCode, count: number): void {
    this.armed.push({ requestType, code, remaining: count });
  }

  clear(): void {
    this.armed = [];
  }

  answer(raw: unknown): ErrorMessage | undefined {
    const request = (raw ?? {}) as Request;
    const armed = this.armed.find((entry) => {
      if (entry.requestType !== request.type) return false;
      // A server that says "too large" to a batch of one that fits would contradict its own
      // announced limits; it is what a server with a smaller maxBatchEvents answers.
      if (entry.code === 'too_large')
        return Array.isArray(request.events) && request.events.length > 1;
      return true;
    });
    if (!armed) return undefined;
    if (--armed.remaining <= 0) this.armed.splice(this.armed.indexOf(armed), 1);
    this.fired.push({ at: Date.now(), requestType: armed.requestType, code: armed.code });
    this.onFire(`injected ${armed.code} on ${armed.requestType}`);
    return {
      type: 'error',
      code: armed.code,
      message: `injected ${armed.code}`,
      requestType: armed.requestType,
      ...(typeof request.repository === 'string' ? { repository: request.repository } : {}),
      ...(typeof request.requestId === 'string' ? { requestId: request.requestId } : {}),
      ...(armed.code === 'rate_limited' || armed.code === 'internal' ? { retryAfterMs: 300 } : {}),
    };
  }
}

/** The server end as the engine sees it: requests pass the injector, answers are recorded. */
class FaultyConnection implements TransportConnection {
  constructor(
    private readonly end: TransportConnection,
    private readonly server: ServerHarness,
  ) {}

  get isOpen(): boolean {
    return this.end.isOpen;
  }

  send(message: object): void {
    let out = message as { type?: string; limits?: unknown };
    // Revision 1.1 announces the limits in auth_success; a server that does not yet gets them
    // added, so the client can know the frame limit it is held to.
    if (out.type === 'auth_success' && out.limits === undefined)
      out = { ...out, limits: this.server.announcedLimits() };
    if (out.type === 'ack') this.server.acks.push({ at: Date.now(), ack: out as AckMessage });
    this.end.send(out);
  }

  close(code?: number, reason?: string): void {
    this.end.close(code, reason);
  }

  onMessage(listener: (message: unknown) => void): Unsubscribe {
    return this.end.onMessage((raw) => {
      const error = this.server.faults.answer(raw);
      if (!error) return listener(raw);
      if (this.end.isOpen) this.end.send(error);
    });
  }
  onInvalidMessage(listener: (problem: InvalidFrame) => void): Unsubscribe {
    return this.end.onInvalidMessage(listener);
  }
  onClose(listener: (info: CloseInfo) => void): Unsubscribe {
    return this.end.onClose(listener);
  }
  onError(listener: (error: Error) => void): Unsubscribe {
    return this.end.onError(listener);
  }
}

export interface ServerHarnessOptions {
  maxFrameBytes: number;
  /** Small token buckets, so the engine's own rate limiting answers. */
  rateLimited: boolean;
  /** Told when an injected error goes out. */
  onFault?: (what: string) => void;
}

/**
 * The real `SyncEngine` over a `MemoryEventStore` that outlives it: it can be closed and a new
 * engine started over the same store (a restart), or over an older copy of it (a restore).
 */
export class ServerHarness implements Acceptor {
  store = new MemoryEventStore();
  engine: SyncEngine | undefined;
  readonly faults: FaultInjector;
  /** Repositories where the client's user may not write: its events come back `rejected`. */
  readonly forbiddenWrites = new Set<string>();
  /** Every ack the engine sent to the client. */
  readonly acks: { at: number; ack: AckMessage }[] = [];
  /** Event ids a restore from an older copy took away. */
  readonly lostToRestore = new Set<string>();
  private readonly authorizer: Authorizer = {
    canRead: () => true,
    canWrite: (user, repository) =>
      !(user.userId === CLIENT_USER && this.forbiddenWrites.has(repository)),
  };

  constructor(private readonly options: ServerHarnessOptions) {
    this.faults = new FaultInjector(options.onFault);
  }

  get up(): boolean {
    return this.engine !== undefined;
  }

  async start(): Promise<void> {
    await this.store.open();
    this.engine = new SyncEngine({
      store: this.store,
      authenticator: staticTokens({ [CLIENT_TOKEN]: CLIENT_USER, 'token-carol': FOREIGN_USER }),
      authorizer: this.authorizer,
      now: () => Date.now(),
      limits: {
        maxFrameBytes: this.options.maxFrameBytes,
        maxPageEvents: 25,
        pingIntervalMs: 5_000,
        ...(this.options.rateLimited
          ? { rateLimitCapacity: 8, rateLimitRefillPerSecond: 4, rateLimitMaxViolations: 100 }
          : {}),
      },
    });
  }

  /** Graceful shutdown: every message received is handled, then the sockets close with 1001. */
  async stop(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.close();
  }

  accept(connection: TransportConnection, info: IncomingConnectionInfo): void {
    if (!this.engine) {
      connection.close(1001, 'server down');
      return;
    }
    this.engine.accept(new FaultyConnection(connection, this), info);
  }

  announcedLimits(): { maxFrameBytes: number; maxBatchEvents: number; maxPageEvents: number } {
    const limits = this.engine?.limits;
    return {
      maxFrameBytes: this.options.maxFrameBytes,
      maxBatchEvents: limits?.maxBatchEvents ?? 500,
      maxPageEvents: limits?.maxPageEvents ?? 25,
    };
  }

  /** Replaces the store with a copy that holds only the oldest `fraction` of each repository. */
  async restoreOlderCopy(fraction: number): Promise<void> {
    const older = new MemoryEventStore();
    await older.open();
    for (const repository of await this.store.listRepositories()) {
      const events = await this.events(repository);
      const kept = Math.floor(events.length * fraction);
      for (const event of events.slice(kept)) this.lostToRestore.add(event.eventId);
      if (kept > 0) await older.append(repository, events.slice(0, kept).map(stripServerFields));
    }
    this.store = older;
  }

  /** Another writer, connected straight to the engine: its events are stored and broadcast. */
  async foreignPush(repository: string, events: SyncEvent[]): Promise<AckMessage | undefined> {
    if (!this.engine) return undefined;
    const { ack } = await this.engine.push({ userId: FOREIGN_USER }, repository, events);
    return ack;
  }

  /** Every event of a repository, in sequence order. */
  async events(repository: string): Promise<ServerEvent[]> {
    const last = await this.store.lastSequence(repository);
    return last === 0 ? [] : (await this.store.readAfter(repository, 0, last)).events;
  }
}

function stripServerFields(event: ServerEvent): SyncEvent {
  const { serverSequence: _sequence, serverCreatedAt: _createdAt, ...rest } = event;
  return rest;
}

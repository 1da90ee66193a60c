import type { SyncEvent } from '@local-first/core';
import type { ServerEvent } from '@local-first/core/adapter';
import { type Authorizer, SyncEngine, staticTokens } from '@local-first/server';
import { MemoryEventStore } from '@local-first/store-memory';
import type { Fault, InterceptedRequest } from '../rest-double.js';
import { RestDouble } from '../rest-double.js';

export const CLIENT_USER = 'alice';
/** The tokens of the client's user, in the order the app hands them: a renewal, the next. */
export const clientToken = (index: number): string => `token-alice-${index}`;
const CLIENT_TOKENS = 500;
/** The user of the other device, which syncs through a client of its own. */
export const OTHER_TOKEN = 'token-bob';
export const OTHER_USER = 'bob';
/** A writer that pushes straight into the engine. */
export const FOREIGN_USER = 'carol';

/** The engine's body limit: a huge record does not fit, five large ones do not either. */
export const SERVER_MAX_BODY_BYTES = 16 * 1024;
/** The body limit of the proxy in front of the server, when it has one. */
export const PROXY_MAX_BODY_BYTES = 5_000;

export interface ServerConfig {
  maxBatchEvents: number;
  maxPageEvents: number;
}

/** What the proxy answers to a body it will not take. */
const TOO_LARGE_ANSWER: Fault = {
  kind: 'answer',
  status: 413,
  body: '<html><body>413 Request Entity Too Large</body></html>',
};

function eventCount(body: string | undefined): number {
  if (body === undefined) return 0;
  try {
    const events = (JSON.parse(body) as { events?: unknown }).events;
    return Array.isArray(events) ? events.length : 0;
  } catch {
    return 0;
  }
}

function stripServerFields(event: ServerEvent): SyncEvent {
  const { serverSequence: _sequence, serverCreatedAt: _createdAt, ...rest } = event;
  return rest;
}

/**
 * The server side of the model: the real `SyncEngine` over a `MemoryEventStore`, reached by
 * the model's client through one `RestDouble` and by the other device through another (a
 * clean one). It can be taken down, put behind a proxy with a smaller body limit, refuse the
 * client's writes to a repository, and be restored from an older copy of its store, which
 * is a new log with a new epoch.
 */
export class ServerSide {
  store!: MemoryEventStore;
  engine!: SyncEngine;
  /** The model client's way to the server: every fault is injected here. */
  readonly rest: RestDouble;
  /** The other device's way to the server: it is down when the server is, nothing else. */
  readonly otherRest: RestDouble;
  /** Repositories where the client's user may not write: pushes come back 403. */
  readonly forbidden = new Set<string>();
  /** Repositories forbidden at some point of the run. */
  readonly everForbidden = new Set<string>();
  /** The proxy's body limit is on. */
  proxyLimited = false;
  /** The proxy was ever limited in this run. */
  everProxyLimited = false;
  /** One-shot 413s still armed for pushes of more than one event. */
  tooLargeArmed = 0;
  /** Every event id any store of the run held. */
  readonly everHeld = new Set<string>();
  /** Event ids a restore took away (and not pushed again since). */
  readonly lostToRestore = new Set<string>();
  /** Old engines, closed at the end. */
  private readonly retired: SyncEngine[] = [];
  private readonly authorizer: Authorizer = {
    canRead: () => true,
    canWrite: (user, repository) =>
      !(user.userId === CLIENT_USER && this.forbidden.has(repository)),
  };

  private constructor(private readonly config: ServerConfig) {
    this.rest = new RestDouble(this.newEngine(new MemoryEventStore({ now: () => new Date() })));
    this.otherRest = new RestDouble(this.engine);
    this.rest.intercept = (request) => this.proxy(request);
  }

  static async create(config: ServerConfig): Promise<ServerSide> {
    const side = new ServerSide(config);
    await side.store.open();
    return side;
  }

  private newEngine(store: MemoryEventStore): SyncEngine {
    this.store = store;
    this.engine = new SyncEngine({
      store,
      authenticator: staticTokens({
        ...Object.fromEntries(
          Array.from({ length: CLIENT_TOKENS }, (_, index) => [clientToken(index), CLIENT_USER]),
        ),
        [OTHER_TOKEN]: OTHER_USER,
      }),
      authorizer: this.authorizer,
      now: () => Date.now(),
      limits: {
        maxFrameBytes: SERVER_MAX_BODY_BYTES,
        maxBatchEvents: this.config.maxBatchEvents,
        maxPageEvents: this.config.maxPageEvents,
        pingIntervalMs: 0,
      },
    });
    return this.engine;
  }

  /** The proxy in front of the client's way in: a body limit, and one-shot 413s. */
  private proxy(request: InterceptedRequest): Fault | undefined {
    if (request.method !== 'POST') return undefined;
    if (this.proxyLimited && Buffer.byteLength(request.body ?? '', 'utf8') > PROXY_MAX_BODY_BYTES)
      return TOO_LARGE_ANSWER;
    if (this.tooLargeArmed > 0 && eventCount(request.body) > 1) {
      this.tooLargeArmed -= 1;
      return TOO_LARGE_ANSWER;
    }
    return undefined;
  }

  get online(): boolean {
    return this.rest.online;
  }

  set online(up: boolean) {
    this.rest.online = up;
    this.otherRest.online = up;
  }

  setLatency(ms: number): void {
    this.rest.latencyMs = ms;
    this.otherRest.latencyMs = ms;
  }

  forbid(repository: string, on: boolean): void {
    if (on) {
      this.forbidden.add(repository);
      this.everForbidden.add(repository);
    } else this.forbidden.delete(repository);
  }

  limitProxy(on: boolean): void {
    this.proxyLimited = on;
    if (on) this.everProxyLimited = true;
  }

  /**
   * The server comes back from a backup that holds the oldest `fraction` of each repository:
   * a new store (so a new epoch) and a new engine, at the same address for both devices.
   */
  async restore(fraction: number): Promise<void> {
    await this.record();
    const older = new MemoryEventStore({ now: () => new Date() });
    await older.open();
    for (const repository of await this.store.listRepositories()) {
      const events = await this.events(repository);
      const kept = Math.floor(events.length * fraction);
      for (const event of events.slice(kept)) this.lostToRestore.add(event.eventId);
      if (kept > 0) await older.append(repository, events.slice(0, kept).map(stripServerFields));
    }
    this.retired.push(this.engine);
    const engine = this.newEngine(older);
    this.rest.serveFrom(engine);
    this.otherRest.serveFrom(engine);
  }

  /** Another writer pushes straight into the engine. */
  async foreignPush(repository: string, event: SyncEvent): Promise<void> {
    await this.engine.push({ userId: FOREIGN_USER }, repository, [event]);
    await this.record();
  }

  /** Every event of a repository, in sequence order. */
  async events(repository: string): Promise<ServerEvent[]> {
    const last = await this.store.lastSequence(repository);
    return last === 0 ? [] : (await this.store.readAfter(repository, 0, last)).events;
  }

  epoch(): Promise<string> {
    return this.store.epoch('');
  }

  /** Notes what the current store holds (an event pushed again after a restore is back). */
  async record(): Promise<void> {
    for (const repository of await this.store.listRepositories())
      for (const event of await this.events(repository)) {
        this.everHeld.add(event.eventId);
        this.lostToRestore.delete(event.eventId);
      }
  }

  async close(): Promise<void> {
    for (const engine of [...this.retired, this.engine]) await engine.close();
  }
}

import {
  LocalFirstClient,
  type RecordData,
  Repository,
  type StoredEvent,
  type StoredRecord,
  silentLogger,
} from '@local-first/core';
import { type HlcState, type StorageTransaction, toWireEvent } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { captureUncaught as trapUncaught } from '@local-first/test-services';
import { vi } from 'vitest';
import { WebSocketSyncStrategy } from '../../src/index.js';
import { ModelNetwork } from './link.js';
import { CLIENT_TOKEN, ServerHarness } from './server.js';
import { WireLog } from './wire-log.js';

/** The engine's frame limit in these tests: small, so a few large records overflow a batch. */
export const MAX_FRAME_BYTES = 64 * 1024;
export const WEBSOCKET_URL = 'ws://model/sync';
export const REPOSITORIES = ['todos', 'notes'] as const;
export const NAMESPACES = ['alice', 'bob'] as const;
export const HEARTBEAT_MS = 1_000;

/** What varies between runs. */
export interface WorldConfig {
  /** One-way delay of every frame. */
  latencyMs: number;
  pongTimeoutMs: number;
  /** The engine's token bucket is small in this run. */
  rateLimited: boolean;
  /** Restarts from an older copy of the store may happen in this run. */
  backups: boolean;
  /** Seeds the strategy's reconnect jitter. */
  jitterSeed: number;
}

export interface Item extends RecordData {
  id: string;
  title: string;
}

/**
 * A disk that may be slow: each transaction holds the adapter's queue `delayMs` of fake time
 * longer, so everything queued behind it (reads, a namespace switch) waits, as on a real one.
 */
class SlowStorage extends MemoryStorageAdapter {
  delayMs = 0;
  /** Transactions asked for and not yet done. */
  busy = 0;
  /** Slow transactions under way, and when the last one ended. */
  slow = 0;
  slowEndedAt = 0;

  override transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    const delay = this.delayMs;
    this.busy += 1;
    if (delay > 0) this.slow += 1;
    return super
      .transaction(async (tx) => {
        if (delay > 0) await new Promise<void>((resolve) => setTimeout(resolve, delay));
        return work(tx);
      })
      .finally(() => {
        this.busy -= 1;
        if (delay > 0) {
          this.slow -= 1;
          this.slowEndedAt = Date.now();
        }
      });
  }
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Bytes of a `push_events_batch` that carries this event alone. */
export function soloFrameBytes(event: StoredEvent): number {
  const message = {
    type: 'push_events_batch',
    repository: event.repository,
    events: [toWireEvent(event)],
  };
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

/** An event that no frame can carry (with room for a request id and the like). */
export function tooLargeForAFrame(event: StoredEvent): boolean {
  return soloFrameBytes(event) > MAX_FRAME_BYTES - 512;
}

/**
 * The system under test and its surroundings: a real `LocalFirstClient` with the real
 * `WebSocketSyncStrategy`, the real `SyncEngine`, the link double between them, and the record
 * of what happened. Time is fake; `advance` is the only way it moves.
 */
export class World {
  /** The world of the run in progress, for the process-level error handlers. */
  static current: World | undefined;
  readonly log = new WireLog();
  readonly server: ServerHarness;
  readonly network: ModelNetwork;
  readonly storage = new SlowStorage();
  readonly strategy: WebSocketSyncStrategy;
  readonly client: LocalFirstClient;
  readonly repositories = new Map<string, Repository<Item>>();
  /** Foreign events whose stamp a 1.1 server refuses, and why. */
  readonly badStamps = new Map<string, string>();
  /** Rejected event ids (from `ack.rejected`) and when the ack reached the client. */
  readonly rejected = new Map<string, number>();
  /** Codes of local writes refused at once (too large for any frame). */
  readonly refusedLocally: string[] = [];
  running = false;
  /** When the run began, so messages can give times from there. */
  readonly t0 = Date.now();
  private serial = 0;
  private trigger: { type: string; microtasks: number; action: () => void } | undefined;

  private constructor(readonly config: WorldConfig) {
    this.server = new ServerHarness({
      maxFrameBytes: MAX_FRAME_BYTES,
      rateLimited: config.rateLimited,
      onFault: (what) => this.log.disturbed(what),
    });
    const log = this.log;
    this.network = new ModelNetwork(
      { latencyMs: config.latencyMs, serverMaxFrameBytes: MAX_FRAME_BYTES },
      this.server,
      {
        clientSent: (link, message, bytes) => log.clientSent(link, message, bytes),
        clientReceived: (link, message) => {
          log.clientReceived(link, message);
          const arrival = log.arrived.at(-1);
          for (const eventId of arrival?.rejected ?? []) this.rejected.set(eventId, Date.now());
          this.pull(arrival?.type);
        },
      },
    );
    this.strategy = new WebSocketSyncStrategy({
      websocketUrl: WEBSOCKET_URL,
      transport: this.network,
      authToken: CLIENT_TOKEN,
      reconnectDelay: 100,
      maxReconnectDelay: 2_000,
      heartbeatInterval: HEARTBEAT_MS,
      pongTimeout: config.pongTimeoutMs,
      connectTimeout: 2_000,
      authTimeout: 2_000,
      random: seededRandom(config.jitterSeed),
      logger: silentLogger,
    });
    this.strategy.stateChanges.subscribe((state) =>
      this.log.states.push({ at: Date.now(), state }),
    );
    for (const name of REPOSITORIES) this.repositories.set(name, new Repository<Item>({ name }));
    this.client = new LocalFirstClient({
      repositories: [...this.repositories.values()],
      localStorage: this.storage,
      syncStrategies: [this.strategy],
      logger: silentLogger,
    });
  }

  static async create(config: WorldConfig): Promise<World> {
    const world = new World(config);
    World.current = world;
    await world.server.start();
    await world.client.initialize();
    await world.client.useNamespace(NAMESPACES[0]);
    await world.start();
    return world;
  }

  /** A fresh number for titles and ids. */
  next(): number {
    this.serial += 1;
    return this.serial;
  }

  /** Fake time since the run began, for messages. */
  t(at: number = Date.now()): string {
    return `${at - this.t0}ms`;
  }

  get namespace(): string {
    return this.client.namespace;
  }

  repository(name: string): Repository<Item> {
    return this.repositories.get(name)!;
  }

  /** Moves fake time; a throw inside a timer callback is an uncaught error of the system. */
  async advance(ms: number): Promise<void> {
    try {
      await vi.advanceTimersByTimeAsync(ms);
    } catch (error) {
      this.log.uncaught.push({ at: Date.now(), error });
    }
  }

  /** Waits for a promise while fake time runs; fails after `limitMs` of it. */
  async settle<T>(promise: Promise<T>, limitMs = 120_000): Promise<T> {
    let outcome: { value: T } | { error: unknown } | undefined;
    promise.then(
      (value) => {
        outcome = { value };
      },
      (error: unknown) => {
        outcome = { error };
      },
    );
    await this.advance(0);
    for (let waited = 0; !outcome && waited < limitMs; ) {
      const step = waited < 1_000 ? 10 : 100;
      await this.advance(step);
      waited += step;
    }
    if (!outcome) throw new Error(`still waiting after ${limitMs} ms of fake time`);
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  async start(): Promise<void> {
    this.running = true;
    this.log.lifecycle('start');
    await this.client.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.log.lifecycle('stop');
    await this.client.stop();
  }

  async switchNamespace(): Promise<void> {
    const next = this.namespace === NAMESPACES[0] ? NAMESPACES[1] : NAMESPACES[0];
    this.log.lifecycle(`useNamespace(${next})`);
    // Both namespaces sync as the model's one user, each with credentials of its own.
    await this.client.useNamespace(next, { credentials: { authToken: CLIENT_TOKEN } });
  }

  /** Runs `action` that many microtasks after the next message of `type` reaches the client. */
  armTrigger(type: string, microtasks: number, action: () => void): void {
    this.trigger = { type, microtasks, action };
  }

  disarmTrigger(): void {
    this.trigger = undefined;
  }

  private pull(type: string | undefined): void {
    const trigger = this.trigger;
    if (!trigger || trigger.type !== type) return;
    this.trigger = undefined;
    const step = (left: number): void => {
      if (left <= 0) trigger.action();
      else queueMicrotask(() => step(left - 1));
    };
    step(trigger.microtasks);
  }

  setDiskDelay(ms: number): void {
    this.storage.delayMs = ms;
  }

  /**
   * Until when the disk was slow (now, while a slow transaction is under way): everything that
   * waits for storage waited for it, so the liveness clocks restart from there.
   */
  get diskSlowUntil(): number {
    return this.storage.slow > 0 ? Date.now() : this.storage.slowEndedAt;
  }

  /** No transaction holds or waits for the queue: reads answer at once. */
  get diskIdle(): boolean {
    return this.storage.busy === 0;
  }

  // Reads of the client's current namespace, straight from its storage. They are awaited
  // without moving fake time (nothing can commit in between); call them when `diskIdle`.

  clientEvents(): Promise<StoredEvent[]> {
    return this.storage.getEvents();
  }

  records(repository: string): Promise<StoredRecord[]> {
    return this.storage.queryRecords(repository, { where: [], orderBy: [], includeDeleted: true });
  }

  async cursor(repository: string): Promise<number> {
    const value = await this.storage.getMeta(`websocket:cursor:${WEBSOCKET_URL}:${repository}`);
    return value === undefined ? 0 : Number(value);
  }

  async clock(): Promise<HlcState | undefined> {
    const value = await this.storage.getMeta('client:hlc');
    return value === undefined ? undefined : (JSON.parse(value) as HlcState);
  }

  async dispose(): Promise<void> {
    this.trigger = undefined;
    this.setDiskDelay(0);
    try {
      await this.settle(this.client.dispose(), 60_000);
      await this.settle(this.server.stop(), 60_000);
    } finally {
      if (World.current === this) World.current = undefined;
      vi.clearAllTimers();
    }
  }
}

/** Errors that escape the code under test while a world runs are kept in its log. */
export function captureUncaught(): () => void {
  return trapUncaught((error) => {
    if (!World.current) return false;
    World.current.log.uncaught.push({ at: Date.now(), error });
    return true;
  });
}

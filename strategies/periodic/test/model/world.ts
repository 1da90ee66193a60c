import {
  type ConnectionState,
  LocalFirstClient,
  type RecordData,
  Repository,
  type StoredEvent,
  type StoredRecord,
  silentLogger,
} from '@local-first/core';
import { parsePosition, type StoredPosition } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { captureUncaught as trapUncaught } from '@local-first/test-services';
import { vi } from 'vitest';
import { PeriodicSyncStrategy } from '../../src/index.js';
import { BASE_URL } from '../fixtures.js';
import { clientToken, OTHER_TOKEN, ServerSide } from './server.js';
import { Traffic } from './traffic.js';

export const REPOSITORIES = ['todos', 'notes'] as const;
export const STRATEGY_NAME = 'periodic';

/** What varies between runs. */
export interface WorldConfig {
  /** One-way delay of every request and answer. */
  latencyMs: number;
  syncInterval: number;
  pushDelay: number;
  requestTimeout: number;
  retryDelay: number;
  maxRetryDelay: number;
  /** The strategy's own batch limits, and its page size. */
  maxBatchEvents: number;
  maxBatchBytes: number;
  pageSize: number;
  /** The engine's limits (its body limit is fixed: `SERVER_MAX_BODY_BYTES`). */
  serverBatchEvents: number;
  serverPageEvents: number;
  /** The server may be restored from an older copy in this run. */
  backups: boolean;
  /** Seeds the strategy's backoff jitter. */
  jitterSeed: number;
}

export interface Item extends RecordData {
  id: string;
  title: string;
}

/** A local write the model made: where, and when. */
export interface LocalWriteRecord {
  repository: string;
  dataId: string;
  at: number;
}

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A device: a real `LocalFirstClient` synced by a real `PeriodicSyncStrategy`. */
export interface Device {
  client: LocalFirstClient;
  strategy: PeriodicSyncStrategy;
  storage: MemoryStorageAdapter;
  repositories: Map<string, Repository<Item>>;
}

function device(options: ConstructorParameters<typeof PeriodicSyncStrategy>[0]): Device {
  const strategy = new PeriodicSyncStrategy(options);
  const storage = new MemoryStorageAdapter();
  const repositories = new Map(
    REPOSITORIES.map((name) => [name, new Repository<Item>({ name })] as const),
  );
  const client = new LocalFirstClient({
    repositories: [...repositories.values()],
    localStorage: storage,
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  return { client, strategy, storage, repositories };
}

/**
 * The system under test and its surroundings: the model client (a real `LocalFirstClient`
 * with the real `PeriodicSyncStrategy`), another device of another user, the real engine
 * behind `RestDouble`s, and the record of what happened. Time is fake; `advance` moves it.
 */
export class World {
  /** The world of the run in progress, for the process-level error handlers. */
  static current: World | undefined;
  readonly traffic: Traffic;
  readonly device: Device;
  readonly other: Device;
  /** Every local write that was stored, by event id. */
  readonly localWrites = new Map<string, LocalWriteRecord>();
  /** `syncNow()` calls, and what each resolved to. */
  readonly syncNows: { at: number; outcome?: boolean | 'threw'; resolvedAt?: number }[] = [];
  /** Restores of the server so far. */
  generation = 0;
  /** Renewals of the client's token so far: it holds `clientToken(renewals)`. */
  renewals = 0;
  running = false;
  readonly t0 = Date.now();
  private serial = 0;

  private constructor(
    readonly config: WorldConfig,
    readonly server: ServerSide,
  ) {
    this.traffic = new Traffic(server.rest, () => ({
      state: this.strategy.connectionState,
      generation: this.generation,
      token: this.token,
    }));
    this.device = device({
      baseUrl: BASE_URL,
      fetch: server.rest.fetch,
      authToken: clientToken(0),
      syncInterval: config.syncInterval,
      pushDelay: config.pushDelay,
      requestTimeout: config.requestTimeout,
      retryDelay: config.retryDelay,
      maxRetryDelay: config.maxRetryDelay,
      maxBatchEvents: config.maxBatchEvents,
      maxBatchBytes: config.maxBatchBytes,
      pageSize: config.pageSize,
      random: seededRandom(config.jitterSeed),
      logger: silentLogger,
    });
    this.other = device({
      baseUrl: BASE_URL,
      fetch: server.otherRest.fetch,
      authToken: OTHER_TOKEN,
      syncInterval: config.syncInterval,
      pushDelay: config.pushDelay,
      retryDelay: 500,
      maxRetryDelay: 5_000,
      random: seededRandom(config.jitterSeed + 1),
      logger: silentLogger,
    });
    this.strategy.stateChanges.subscribe((state) =>
      this.traffic.states.push({ at: Date.now(), state }),
    );
    this.device.client.rejections.subscribe((rejection) =>
      this.traffic.rejections.set(rejection.eventId, { code: rejection.code, at: Date.now() }),
    );
    this.strategy.activityChanges.subscribe((activity) => {
      if (activity.type === 'rejected')
        for (const verdict of activity.rejected) this.traffic.rejectedActivity.add(verdict.eventId);
    });
  }

  static async create(config: WorldConfig): Promise<World> {
    const server = await ServerSide.create({
      maxBatchEvents: config.serverBatchEvents,
      maxPageEvents: config.serverPageEvents,
    });
    server.setLatency(config.latencyMs);
    const world = new World(config, server);
    World.current = world;
    await world.device.client.initialize();
    await world.other.client.initialize();
    await world.other.client.start();
    await world.start();
    return world;
  }

  get strategy(): PeriodicSyncStrategy {
    return this.device.strategy;
  }

  get state(): ConnectionState {
    return this.strategy.connectionState;
  }

  /** The token the app handed the strategy last. */
  get token(): string {
    return clientToken(this.renewals);
  }

  /** The app hands the strategy a new token (what resumes it after a 401). */
  renewToken(): void {
    this.renewals += 1;
    this.traffic.kicked('renew token');
    this.strategy.updateAuthToken(this.token);
  }

  repository(name: string): Repository<Item> {
    return this.device.repositories.get(name)!;
  }

  /** A fresh number for titles. */
  next(): number {
    this.serial += 1;
    return this.serial;
  }

  /** Fake time since the run began, for messages. */
  t(at: number = Date.now()): string {
    return `${at - this.t0}ms`;
  }

  /** Moves fake time; a throw inside a timer callback is an uncaught error of the system. */
  async advance(ms: number): Promise<void> {
    try {
      await vi.advanceTimersByTimeAsync(ms);
    } catch (error) {
      this.traffic.uncaught.push({ at: Date.now(), error });
    }
  }

  /**
   * Waits for a promise while fake time runs; after `limitMs` of it, fails with what `seen`
   * tells of the world then.
   */
  async settle<T>(promise: Promise<T>, what: string, limitMs = 120_000): Promise<T> {
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
    if (!outcome)
      throw new Error(
        `${what} did not finish in ${limitMs} ms of fake time (strategy ${this.state}, ${await this.pendingCount()} pending; last requests: ${this.traffic.story()})`,
      );
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  async start(): Promise<void> {
    this.running = true;
    this.traffic.kicked('start');
    await this.device.client.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.traffic.disturbed('stop');
    await this.device.client.stop();
  }

  /** A local write, kept track of; a write over the strategy's byte limit is refused at once. */
  async write(repository: string, write: Promise<StoredEvent | undefined>): Promise<void> {
    try {
      const event = await this.settle(write, `a write to ${repository}`);
      if (!event) return;
      this.localWrites.set(event.eventId, {
        repository,
        dataId: event.dataId,
        at: Date.now(),
      });
    } catch (error) {
      // Over the strategy's own byte limit: refused before anything is stored.
      if ((error as { code?: unknown }).code !== 'event_too_large') throw error;
    }
  }

  syncNow(): void {
    const call: World['syncNows'][number] = { at: Date.now() };
    this.syncNows.push(call);
    this.traffic.kicked('syncNow');
    this.strategy.syncNow().then(
      (value) => {
        call.outcome = value;
        call.resolvedAt = Date.now();
      },
      () => {
        call.outcome = 'threw';
        call.resolvedAt = Date.now();
      },
    );
  }

  // Reads of the model client's storage. The memory adapter answers in microtasks, so they
  // take no fake time.

  clientEvents(): Promise<StoredEvent[]> {
    return this.device.storage.getEvents();
  }

  records(repository: string): Promise<StoredRecord[]> {
    return this.device.storage.queryRecords(repository, {
      where: [],
      orderBy: [],
      includeDeleted: true,
    });
  }

  async cursor(repository: string): Promise<StoredPosition> {
    return parsePosition(
      await this.device.storage.getMeta(`${STRATEGY_NAME}:cursor:${BASE_URL}:${repository}`),
    );
  }

  async pendingCount(): Promise<number> {
    return (await this.device.client.getPendingEvents()).length;
  }

  async dispose(): Promise<void> {
    try {
      await this.settle(this.device.client.dispose(), 'disposing the client', 60_000);
      await this.settle(this.other.client.dispose(), 'disposing the other device', 60_000);
      await this.settle(this.server.close(), 'closing the engines', 60_000);
    } finally {
      if (World.current === this) World.current = undefined;
      vi.clearAllTimers();
    }
  }
}

/** Errors that escape the code under test while a world runs are kept in its traffic. */
export function captureUncaught(): () => void {
  return trapUncaught((error) => {
    if (!World.current) return false;
    World.current.traffic.uncaught.push({ at: Date.now(), error });
    return true;
  });
}

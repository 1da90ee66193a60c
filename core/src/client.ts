import type { ConflictResolver } from './conflict.js';

import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { HybridLogicalClock } from './hlc.js';
import { consoleLogger, type Logger } from './logger.js';
import type { RecordData, StoredEvent, StoredRecord } from './model.js';
import { DEFAULT_MAX_CLOCK_DRIFT_MS } from './protocol.js';
import type { QuerySpec } from './query.js';
import { applyRemoteBatch, loadIdentity, writeLocalEvent } from './replica-log.js';
import type { Repository, RepositoryBackend, WriteOptions } from './repository.js';
import { Emitter, StateSignal, type Subscribable, type Unsubscribe } from './signal.js';
import { DEFAULT_NAMESPACE, type StorageAdapter, type StorageTransaction } from './storage.js';
import {
  aggregateConnectionState,
  type ClientConnectionState,
  pushableCheck,
  pushToStrategies,
  syncHostOf,
} from './strategies.js';
import type {
  ApplyResult,
  Rejection,
  RemoteCursor,
  SyncStrategy,
  Verdict,
} from './sync-strategy.js';
import { validateRemoteEvents } from './validation.js';
import { acknowledgeEvents, applyVerdicts, requeueLocalEvents } from './verdicts.js';

// biome-ignore lint/suspicious/noExplicitAny: repositories of any record type share one list.
type AnyRepository = Repository<any>;

export interface LocalFirstClientOptions {
  /** The repositories of the app; names must be unique. */
  repositories: readonly AnyRepository[];
  /** Where records, events and meta live. */
  localStorage: StorageAdapter;
  /** How changes reach remotes; none is fine for a local-only app. */
  syncStrategies?: readonly SyncStrategy[];
  /** Wall clock in milliseconds; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Where warnings go (malformed remote events, failing strategies). Default: the console. */
  logger?: Logger;
  /**
   * A remote event whose stamp is more than this far ahead of its `serverCreatedAt` is refused
   * as malformed (protocol 1.1 "Stamps"), so one bad clock cannot win every later conflict.
   * Default 5 minutes, the servers' default.
   */
  maxClockDriftMs?: number;
}

const CONFIG_PREFIX = 'config:';
type Phase = 'created' | 'initializing' | 'ready' | 'disposed';

/**
 * The local-first client: it owns the local storage, the repositories and the sync strategies.
 * Construct it with its parts (or resolve it from a container), `initialize()` it, then use the
 * repositories; `start()` begins syncing.
 */
export class LocalFirstClient {
  readonly storage: StorageAdapter;
  readonly strategies: readonly SyncStrategy[];
  private readonly repositories = new Map<string, AnyRepository>();
  private readonly changeEmitters = new Map<string, Emitter<void>>();
  private readonly wallClock: () => number;
  private readonly logger: Logger;
  private readonly connection: StateSignal<ClientConnectionState>;
  private readonly pending = new Emitter<void>();
  private readonly rejected = new Emitter<Rejection>();
  /** Per repository, the check its local writes pass before they are stored (strategies are fixed). */
  private readonly pushableChecks = new Map<string, ((event: StoredEvent) => void) | undefined>();
  private readonly maxClockDriftMs: number;
  private readonly strategySubscriptions: Unsubscribe[] = [];
  private phase: Phase = 'created';
  private initializing: Promise<void> | undefined;
  private clock: HybridLogicalClock | undefined;
  private currentClientId: string | undefined;
  private running = false;

  constructor(options: LocalFirstClientOptions) {
    if (!options?.localStorage) {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'LocalFirstClient needs localStorage');
    }
    this.storage = options.localStorage;
    this.strategies = [...(options.syncStrategies ?? [])];
    this.wallClock = options.now ?? Date.now;
    this.logger = options.logger ?? consoleLogger;
    this.maxClockDriftMs = options.maxClockDriftMs ?? DEFAULT_MAX_CLOCK_DRIFT_MS;
    for (const repository of options.repositories ?? []) {
      if (this.repositories.has(repository.name)) {
        throw new LocalFirstError(
          ERROR_CODES.duplicateRepository,
          `two repositories are named "${repository.name}"`,
        );
      }
      this.repositories.set(repository.name, repository);
      this.changeEmitters.set(repository.name, new Emitter<void>());
    }
    const names = new Set<string>();
    for (const strategy of this.strategies) {
      if (names.has(strategy.name)) {
        throw new LocalFirstError(
          ERROR_CODES.invalidArgument,
          `two strategies are named "${strategy.name}"`,
        );
      }
      names.add(strategy.name);
    }
    this.connection = new StateSignal(aggregateConnectionState(this.strategies));
    // Bound last, so a client that fails to construct leaves its repositories free.
    const backend = this.repositoryBackend();
    for (const repository of this.repositories.values()) repository.bind(backend);
  }

  /** Opens storage, loads this client's identity and clock, and attaches the strategies. */
  initialize(): Promise<void> {
    if (this.phase === 'disposed') return Promise.reject(this.closedError());
    this.initializing ??= this.doInitialize();
    return this.initializing;
  }

  private async doInitialize(): Promise<void> {
    this.phase = 'initializing';
    await this.storage.open();
    for (const repository of this.repositories.values()) {
      if (repository.indexes.length > 0)
        await this.storage.ensureIndexes?.(repository.name, repository.indexes);
    }
    await this.loadIdentity();
    const host = syncHostOf(this, () => [...this.repositories.keys()]);
    for (const strategy of this.strategies) {
      strategy.attach(host);
      this.strategySubscriptions.push(
        strategy.stateChanges.subscribe(() =>
          this.connection.set(aggregateConnectionState(this.strategies)),
        ),
      );
    }
    this.phase = 'ready';
  }

  private async loadIdentity(): Promise<void> {
    const identity = await loadIdentity(this.storage, this.wallClock);
    this.currentClientId = identity.clientId;
    this.clock = identity.clock;
  }

  /** The stable id of this client in the current namespace. */
  get clientId(): string {
    this.assertReady();
    return this.currentClientId!;
  }

  /** The namespace in use. */
  get namespace(): string {
    return this.storage.namespace ?? DEFAULT_NAMESPACE;
  }

  /** A repository by name. */
  getRepository<T extends RecordData = RecordData>(name: string): Repository<T> {
    const repository = this.repositories.get(name);
    if (!repository) {
      throw new LocalFirstError(ERROR_CODES.unknownRepository, `no repository named "${name}"`);
    }
    return repository as Repository<T>;
  }

  /** Starts every strategy. */
  async start(): Promise<void> {
    this.assertReady();
    this.running = true;
    await Promise.all(this.strategies.map((strategy) => strategy.start()));
  }

  /** Stops every strategy; local reads and writes go on. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.strategies.map((strategy) => strategy.stop()));
  }

  /** Stops and disposes the strategies and closes storage; the client cannot be used again. */
  async dispose(): Promise<void> {
    if (this.phase === 'disposed') return;
    if (this.initializing) await this.initializing.catch(() => undefined);
    this.phase = 'disposed';
    this.running = false;
    await Promise.all(this.strategies.map((strategy) => strategy.dispose()));
    for (const unsubscribe of this.strategySubscriptions.splice(0)) unsubscribe();
    for (const emitter of this.changeEmitters.values()) emitter.clear();
    this.rejected.clear();
    await this.storage.close();
  }

  /**
   * Switches to another isolated data set, for instance one per signed-in user. Strategies
   * that were running are stopped and started again on the new namespace; watchers re-run.
   */
  async useNamespace(namespace: string): Promise<void> {
    this.assertReady();
    if (typeof namespace !== 'string' || namespace === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'a namespace needs a name');
    }
    if (namespace === this.storage.namespace) return;
    const wasRunning = this.running;
    if (wasRunning) await this.stop();
    await this.storage.useNamespace(namespace);
    await this.loadIdentity();
    for (const emitter of this.changeEmitters.values()) emitter.emit();
    this.pending.emit();
    if (wasRunning) await this.start();
  }

  /** Stores an app setting in the current namespace. `undefined` removes it. */
  async setConfigValue(key: string, value: string | undefined): Promise<void> {
    this.assertReady();
    await this.storage.setMeta(CONFIG_PREFIX + key, value);
  }

  /** Reads an app setting of the current namespace. */
  async getConfigValue(key: string): Promise<string | undefined> {
    this.assertReady();
    return this.storage.getMeta(CONFIG_PREFIX + key);
  }

  /** The connection state of every strategy plus the aggregate. */
  get connectionState(): ClientConnectionState {
    return this.connection.value;
  }

  /** Every change of `connectionState` (the current value first). */
  get connectionChanges(): Subscribable<ClientConnectionState> {
    return this.connection;
  }

  private assertReady(): void {
    if (this.phase === 'disposed') throw this.closedError();
    if (this.phase !== 'ready') {
      throw new LocalFirstError(
        ERROR_CODES.notInitialized,
        'call initialize() on the client first',
      );
    }
  }

  private closedError(): LocalFirstError {
    return new LocalFirstError(ERROR_CODES.closed, 'the client was disposed');
  }

  private repository(name: string): AnyRepository {
    return this.getRepository(name);
  }

  private readonly resolverOf = (name: string): ConflictResolver | undefined =>
    this.repositories.get(name)?.resolveConflict as ConflictResolver | undefined;

  private notify(repository: string): void {
    this.changeEmitters.get(repository)?.emit();
  }

  private toItem(repository: AnyRepository, record: StoredRecord): RecordData {
    if (!record.deleted) return record.data as RecordData;
    return { [repository.idField]: record.id, _deleted: true };
  }

  private async writeLocal(
    name: string,
    id: string,
    data: RecordData | null,
    options: WriteOptions,
  ): Promise<StoredEvent | undefined> {
    this.assertReady();
    this.repository(name);
    const needSync = options.needSync ?? true;
    const clock = this.clock!;
    let check = this.pushableChecks.get(name);
    if (!this.pushableChecks.has(name)) {
      check = pushableCheck(this.strategies, name);
      this.pushableChecks.set(name, check);
    }
    if (!needSync) check = undefined;
    const event = await this.storage.transaction((tx) =>
      writeLocalEvent(tx, {
        clock,
        now: this.wallClock,
        repository: name,
        id,
        data,
        needSync,
        ...(check ? { check } : {}),
      }),
    );
    if (!event) return undefined;
    this.notify(name);
    if (needSync) {
      this.pending.emit();
      pushToStrategies(this.strategies, event, this.logger);
    }
    return event;
  }

  /**
   * Runs a write of the sync path in one transaction, but only if, when its turn comes, the
   * storage is still in the namespace it was asked in. A strategy's late write for a namespace
   * the app has switched away from (the switch queued ahead of it) must not land in the new one.
   */
  private guarded<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T | undefined> {
    const namespace = this.storage.namespace;
    return this.storage.transaction((tx) =>
      this.storage.namespace === namespace ? work(tx) : Promise.resolve(undefined),
    );
  }

  /**
   * Applies events received from a remote. See `SyncHost.applyRemoteEvents`. Events from a
   * server that this client wrote itself and still had pending are marked synced.
   */
  async applyRemoteEvents(
    name: string,
    events: readonly unknown[],
    cursor?: RemoteCursor,
  ): Promise<ApplyResult> {
    this.assertReady();
    const repository = this.repository(name);
    const result: ApplyResult = { applied: [], skipped: [], invalid: [] };
    const valid = validateRemoteEvents(events, this.maxClockDriftMs, result.invalid);
    const clock = this.clock!;
    const resolver = repository.resolveConflict as ConflictResolver | undefined;
    await this.guarded((tx) =>
      applyRemoteBatch(tx, { clock, repository: name, events: valid, resolver, cursor, result }),
    );
    if (result.invalid.length > 0) {
      this.logger.warn(
        { repository: name, invalid: result.invalid },
        'skipped malformed remote events',
      );
    }
    if (result.applied.length > 0) this.notify(name);
    // A skipped event may be this client's own, now known to be on the server.
    if (result.skipped.length > 0) this.pending.emit();
    return result;
  }

  /** Marks events as acknowledged by a remote. */
  async markSynced(eventIds: readonly string[], cursor?: RemoteCursor): Promise<void> {
    this.assertReady();
    if (eventIds.length === 0 && !cursor) return;
    const changed = await this.guarded(async (tx) => {
      const repositories =
        eventIds.length > 0 ? await acknowledgeEvents(tx, eventIds, this.resolverOf) : [];
      if (cursor) await tx.setMeta(cursor.key, cursor.value);
      return repositories;
    });
    for (const name of changed ?? []) this.notify(name);
    if (eventIds.length > 0) this.pending.emit();
  }

  /** Marks events as refused by a remote. */
  async markFailed(eventIds: readonly string[]): Promise<void> {
    this.assertReady();
    if (eventIds.length === 0) return;
    await this.guarded((tx) => tx.setEventStatus(eventIds, 'failed'));
    this.pending.emit();
  }

  /**
   * Final verdicts on local events (see `SyncHost.rejectEvents`): each is marked failed, its
   * record goes back to the last state the server accepted, watchers run, and the verdict is
   * reported on `rejections`.
   */
  async rejectEvents(verdicts: readonly Verdict[]): Promise<void> {
    this.assertReady();
    if (verdicts.length === 0) return;
    const { rejections, repositories } = (await this.guarded((tx) =>
      applyVerdicts(tx, verdicts, this.resolverOf),
    )) ?? { rejections: [], repositories: [] };
    for (const name of repositories) this.notify(name);
    if (rejections.length > 0) this.pending.emit();
    for (const rejection of rejections) {
      this.logger.warn(
        { repository: rejection.repository, eventId: rejection.eventId, code: rejection.code },
        `change refused: ${rejection.message}`,
      );
      this.rejected.emit(rejection);
    }
  }

  /** See `SyncHost.requeueLocalEvents`. */
  async requeueLocalEvents(repository: string): Promise<StoredEvent[]> {
    this.assertReady();
    const events = (await this.guarded((tx) => requeueLocalEvents(tx, repository))) ?? [];
    if (events.length > 0) this.pending.emit();
    return events;
  }

  /**
   * Every final verdict on a local change: the server refused it, or it can never be pushed.
   * By then its record is back to the last state the server accepted.
   */
  get rejections(): Subscribable<Rejection> {
    return this.rejected;
  }

  /**
   * Fires after anything that may change the set of pending events: a local write that needs
   * sync, an acknowledgement, a rejection, a namespace switch. Read `getPendingEvents()` (or
   * count them) when it fires, e.g. to show how many changes are not yet on the server.
   */
  get pendingChanges(): Subscribable<void> {
    return this.pending;
  }

  /** Pending events, oldest first, of one repository or all. */
  async getPendingEvents(repository?: string): Promise<StoredEvent[]> {
    this.assertReady();
    return this.storage.getEvents({ status: 'pending', ...(repository ? { repository } : {}) });
  }

  private repositoryBackend(): RepositoryBackend {
    return {
      write: (repository, id, data, options) => this.writeLocal(repository, id, data, options),
      read: async (repository, id, includeDeleted) => {
        this.assertReady();
        const record = await this.storage.getRecord(repository, id);
        if (!record || (record.deleted && !includeDeleted)) return undefined;
        return this.toItem(this.repository(repository), record);
      },
      query: async (repository, spec: QuerySpec) => {
        this.assertReady();
        const owner = this.repository(repository);
        const records = await this.storage.queryRecords(repository, spec);
        return records.map((record) => this.toItem(owner, record));
      },
      changes: (repository) => {
        const emitter = this.changeEmitters.get(repository);
        if (!emitter)
          throw new LocalFirstError(
            ERROR_CODES.unknownRepository,
            `no repository named "${repository}"`,
          );
        return emitter;
      },
      pendingEvents: (repository) => this.getPendingEvents(repository),
    };
  }
}

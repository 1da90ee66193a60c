import type { ConflictResolver } from './conflict.js';

import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { HybridLogicalClock } from './hlc.js';
import { type ClientTransaction, LocalWrites } from './local-writes.js';
import { consoleLogger, type Logger } from './logger.js';
import type { JsonFields, RecordData, StoredEvent } from './model.js';
import { type NamespaceOptions, NamespaceSwitches } from './namespace-switch.js';
import { type CountSignal, PendingTally } from './pending-tally.js';
import { DEFAULT_MAX_CLOCK_DRIFT_MS } from './protocol.js';
import { ChangeFeeds, ChangeLog, recordItem } from './record-changes.js';
import { loadIdentity } from './replica-log.js';
import type { AnyRepository, Repository } from './repository.js';
import { repositoryBackend } from './repository-backend.js';
import { Emitter, StateSignal, type Subscribable, type Unsubscribe } from './signal.js';
import { DEFAULT_NAMESPACE, type ExternalCommit, type StorageAdapter } from './storage.js';
import {
  aggregateConnectionState,
  type ClientConnectionState,
  Routes,
  routeRepositories,
  startAll,
  stopAll,
  syncHostOf,
} from './strategies.js';
import { SyncPath } from './sync-path.js';
import type {
  AccessRevocation,
  ApplyResult,
  Rejection,
  RemoteCursor,
  SyncStrategy,
  Verdict,
} from './sync-strategy.js';

/** What a {@link LocalFirstClient} is built from: its repositories, storage and strategies. */
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
  /** The local storage, as given in `localStorage`. */
  readonly storage: StorageAdapter;
  /** The sync strategies, in the order given. */
  readonly strategies: readonly SyncStrategy[];
  private readonly repositories = new Map<string, AnyRepository>();
  private readonly feeds = new ChangeFeeds();
  private readonly wallClock: () => number;
  private readonly logger: Logger;
  private readonly connection: StateSignal<ClientConnectionState>;
  private readonly pending = new Emitter<void>();
  private readonly tally: PendingTally;
  private readonly rejected = new Emitter<Rejection>();
  private readonly revoked = new Emitter<AccessRevocation>();
  private readonly sync: SyncPath;
  private readonly writes: LocalWrites;
  private readonly maxClockDriftMs: number;
  private readonly strategySubscriptions: Unsubscribe[] = [];
  /** The one strategy that syncs each repository (see `routeRepositories`). */
  private routes = new Routes();
  private phase: Phase = 'created';
  private initializing: Promise<void> | undefined;
  private clock: HybridLogicalClock | undefined;
  private currentClientId: string | undefined;
  /** Whether the app wants sync on: start() until stop(), whatever switches happen meanwhile. */
  private running = false;
  private readonly switches: NamespaceSwitches;

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
      this.feeds.add(repository.name, repository.idField);
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
    this.tally = new PendingTally(
      () => this.sync.pendingEvents(undefined),
      (error) => this.logger.error({ error }, 'could not count the pending events'),
    );
    this.sync = new SyncPath({
      storage: this.storage,
      logger: this.logger,
      maxClockDriftMs: this.maxClockDriftMs,
      clock: () => this.clock!,
      assertReady: () => this.assertReady(),
      assertRepository: (name) => this.repository(name),
      resolverOf: this.resolverOf,
      committed: (log) => this.committed(log),
      pendingChanged: () => this.pending.emit(),
      rejected: (rejection) => this.rejected.emit(rejection),
      revoked: (revocation) => this.revoked.emit(revocation),
    });
    this.switches = new NamespaceSwitches({
      strategies: this.strategies,
      inUse: () => this.storage.namespace,
      enter: async (namespace) => {
        this.assertReady();
        this.writes.closeGroup(); // later writes land in the namespace entered
        await this.storage.useNamespace(namespace);
        await this.loadIdentity();
      },
      entered: () => this.reread(),
      running: () => this.running,
    });
    this.writes = new LocalWrites({
      storage: this.storage,
      logger: this.logger,
      now: this.wallClock,
      clock: () => this.clock!,
      assertReady: () => this.assertReady(),
      repository: (name) => this.repository(name),
      strategiesOf: (repository) => this.routes.to(repository),
      toItem: (repository, record) => recordItem(repository.idField, record),
      committed: (log) => this.committed(log),
      pendingChanged: () => this.pending.emit(),
    });
    // Bound last, so a client that fails to construct leaves its repositories free.
    const backend = repositoryBackend({
      storage: this.storage,
      writes: this.writes,
      feeds: this.feeds,
      assertReady: () => this.assertReady(),
      repository: (name) => this.repository(name),
      pendingEvents: (repository) => this.getPendingEvents(repository),
    });
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
    // Before anything opens: two strategies claiming one repository is a configuration error.
    this.routes = routeRepositories([...this.repositories.keys()], this.strategies, this.logger);
    await this.storage.open();
    for (const repository of this.repositories.values()) {
      if (repository.indexes.length > 0)
        await this.storage.ensureIndexes?.(repository.name, repository.indexes);
    }
    await this.loadIdentity();
    const external = this.storage.externalCommits?.subscribe((commit) => this.ingest(commit));
    if (external) this.strategySubscriptions.push(external);
    for (const strategy of this.strategies) {
      // Each strategy's host lists the repositories routed to it, and their pending events.
      const routed = this.routes.of(strategy);
      const host = syncHostOf({
        clientId: () => this.clientId,
        namespace: () => this.switches.namespace,
        repositoryNames: () => [...routed],
        sync: this.sync,
      });
      strategy.attach(host);
      this.strategySubscriptions.push(
        strategy.stateChanges.subscribe(() =>
          this.connection.set(aggregateConnectionState(this.strategies)),
        ),
      );
    }
    this.phase = 'ready';
    this.tally.reload();
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
  getRepository<T extends JsonFields<T> = RecordData>(name: string): Repository<T> {
    const repository = this.repositories.get(name);
    if (!repository) {
      throw new LocalFirstError(ERROR_CODES.unknownRepository, `no repository named "${name}"`);
    }
    return repository as Repository<T>;
  }

  /** Starts every strategy; during a namespace switch, once the switch is done. */
  async start(): Promise<void> {
    this.assertReady();
    this.running = true;
    await this.switches.settled();
    if (this.running && this.phase === 'ready') await startAll(this.strategies);
  }

  /** Stops every strategy; local reads and writes go on. */
  async stop(): Promise<void> {
    this.running = false;
    await stopAll(this.strategies);
  }

  /** Stops and disposes the strategies and closes storage; the client cannot be used again. */
  async dispose(): Promise<void> {
    if (this.phase === 'disposed') return;
    if (this.initializing) await this.initializing.catch(() => undefined);
    this.phase = 'disposed';
    this.running = false;
    await Promise.all(this.strategies.map((strategy) => strategy.dispose()));
    for (const unsubscribe of this.strategySubscriptions.splice(0)) unsubscribe();
    this.feeds.clear();
    this.rejected.clear();
    this.revoked.clear();
    await this.storage.close();
  }

  /**
   * Switches to another isolated data set, one per signed-in account: its records, pending
   * changes, cursors and client id. Strategies stop at once (before this returns its promise)
   * and, if sync is on, start again in the new namespace; watchers re-run. Give the account's
   * `credentials` here, so each strategy has them before it connects in the namespace: a
   * strategy without credentials for a namespace does not connect in it. Switches run one
   * after another, in the order asked; with `credentials`, switching to the namespace already
   * in use hands them over (a token refresh).
   */
  useNamespace(namespace: string, options: NamespaceOptions = {}): Promise<void> {
    try {
      this.assertReady();
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof namespace !== 'string' || namespace === '') {
      return Promise.reject(
        new LocalFirstError(ERROR_CODES.invalidArgument, 'a namespace needs a name'),
      );
    }
    return this.switches.request(namespace, options);
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

  /** Watches and the pending count read the store again (another namespace, missed commits). */
  private reread(): void {
    this.feeds.reset();
    this.tally.reload();
    this.pending.emit();
  }

  /** Every commit, made here or heard of from the store: for the watches and the tally. */
  private committed(log: ChangeLog): void {
    this.feeds.committed(log);
    this.tally.committed(log);
  }

  /** Another client's commit over the same store: the watches, the count, the strategies. */
  private ingest(commit: ExternalCommit): void {
    if (this.phase !== 'ready' || commit.namespace !== this.storage.namespace) return;
    if (commit.resync) return void this.reread();
    this.committed(ChangeLog.of(commit));
    const pending = commit.appended.filter((e) => e.local && e.syncStatus === 'pending');
    if (pending.length > 0 || commit.statuses.length > 0) this.pending.emit();
    this.writes.push(pending, commit.namespace);
  }

  /**
   * Resolves once every watch has emitted what was committed before the call (a watch emits
   * after the task that committed a change): for scripts and tests that write, then look.
   */
  settled(): Promise<void> {
    return this.feeds.settled();
  }

  /**
   * Runs `work` as one transaction over any of the client's repositories: every change it
   * makes through `tx` is stored with the others or, if `work` throws, none is (and the error
   * is re-thrown). Then each watch emits once and the strategies get the events together.
   * Use only `tx` inside `work`: a repository's own `upsert` waits for the transaction to
   * end, so awaiting it inside never returns.
   */
  transaction<R>(work: (tx: ClientTransaction) => Promise<R>): Promise<R> {
    this.writes.closeGroup(); // single writes asked for after this come after it
    return this.writes.transaction(work);
  }

  /** See `SyncHost.applyRemoteEvents`. */
  applyRemoteEvents(
    repository: string,
    events: readonly unknown[],
    cursor?: RemoteCursor,
  ): Promise<ApplyResult> {
    return this.sync.applyRemoteEvents(undefined, repository, events, cursor);
  }

  /** See `SyncHost.markSynced`. */
  markSynced(eventIds: readonly string[], cursor?: RemoteCursor): Promise<void> {
    return this.sync.markSynced(undefined, eventIds, cursor);
  }

  /** See `SyncHost.markFailed`. */
  markFailed(eventIds: readonly string[]): Promise<void> {
    return this.sync.markFailed(undefined, eventIds);
  }

  /**
   * Final verdicts on local events (see `SyncHost.rejectEvents`): each is marked failed, its
   * record goes back to the last state the server accepted, watchers run, and the verdict is
   * reported on `rejections`.
   */
  rejectEvents(verdicts: readonly Verdict[]): Promise<void> {
    return this.sync.rejectEvents(undefined, verdicts);
  }

  /** See `SyncHost.requeueLocalEvents`. */
  requeueLocalEvents(repository: string): Promise<StoredEvent[]> {
    return this.sync.requeueLocalEvents(undefined, repository);
  }

  /**
   * Every final verdict on a local change: the server refused it, or it can never be pushed.
   * By then its record is back to the last state the server accepted.
   */
  get rejections(): Subscribable<Rejection> {
    return this.rejected;
  }

  /**
   * Every repository a remote no longer lets this account read: by then its local copy (in
   * the namespace named) is gone, its watchers re-ran, and its pending changes were reported
   * on `rejections`. Writes to it afterwards are pushed as usual and refused by the server.
   */
  get accessRevocations(): Subscribable<AccessRevocation> {
    return this.revoked;
  }

  /**
   * Fires after anything that may change the set of pending events: a local write that needs
   * sync, an acknowledgement, a rejection, a namespace switch. Read `getPendingEvents()` (or
   * count them) when it fires, e.g. to show how many changes are not yet on the server.
   */
  get pendingChanges(): Subscribable<void> {
    return this.pending;
  }

  /**
   * How many of this device's changes the servers have not acknowledged yet, in the current
   * namespace, kept from each commit (the other tabs' too) with no read per write: for a
   * "3 changes waiting to sync" indicator. A subscriber hears the current count first.
   */
  get pendingCount(): CountSignal {
    return this.tally.signal;
  }

  /** Pending events, oldest first, of one repository or all. */
  getPendingEvents(repository?: string): Promise<StoredEvent[]> {
    return this.sync.pendingEvents(undefined, repository);
  }
}

import {
  type ConnectionState,
  CredentialBook,
  type CredentialsTarget,
  Emitter,
  ERROR_CODES,
  fullJitterBackoff,
  LocalFirstError,
  type Logger,
  listedRepositories,
  StateSignal,
  type StoredEvent,
  type Subscribable,
  type SyncActivity,
  type SyncCredentials,
  type SyncHost,
  type SyncStrategy,
  silentLogger,
  waitUntilSynced,
} from '@local-first/core';
import { BatchBudget } from './batches.js';
import { RestClient } from './http.js';
import {
  DEFAULT_PERIODIC_WHEN_SYNCED_TIMEOUT_MS,
  type PeriodicSyncStrategyOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { type RoundResult, SyncRound } from './round.js';

/**
 * Sync by rounds over the server's REST API. A round pushes every pending change in batches
 * until the server has answered each, then pulls each repository from its stored cursor to the
 * end of the log. Rounds come every `syncInterval`, shortly after local writes (`pushDelay`),
 * and on `syncNow()`; after a failed round the next one waits with backoff and jitter (longer
 * when the server says `Retry-After`). Connection state: `connecting` until the first round
 * ends, `connected` after a round that succeeded, `reconnecting` after one that failed.
 */
export class PeriodicSyncStrategy implements SyncStrategy {
  readonly name: string;
  /** The repositories this strategy was given; `undefined`: the ones no other strategy lists. */
  readonly repositoryNames: readonly string[] | undefined;
  private readonly options: ResolvedOptions;
  private readonly onAuthFailed: PeriodicSyncStrategyOptions['onAuthFailed'];
  private readonly logger: Logger;
  private readonly state = new StateSignal<ConnectionState>('stopped');
  private readonly connected = new StateSignal<boolean>(false);
  private readonly activity = new Emitter<SyncActivity>();
  private readonly credentials: CredentialBook;
  private readonly budget: BatchBudget;
  private readonly round: SyncRound;
  private host: SyncHost | undefined;
  private running = false;
  private disposed = false;
  /** Failed rounds in a row, for the backoff. */
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (ms since the epoch), so a sooner round can replace it. */
  private timerDue = 0;
  private inFlight: Promise<boolean> | undefined;
  /** The round asked for (by `syncNow`) while one was running; it follows that one. */
  private followUp: Promise<boolean> | undefined;
  /** Aborts the requests of the running round when the strategy stops. */
  private controller: AbortController | undefined;
  /** A local write came in while a round ran: another round follows after `pushDelay`. */
  private dirty = false;
  /** Stopped in `failed` for want of credentials in this namespace; new ones resume. */
  private awaiting: string | undefined;
  /** The repositories the last round pulled to the end. */
  private caughtUp = new Set<string>();

  constructor(options: PeriodicSyncStrategyOptions) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
    this.repositoryNames = listedRepositories(options);
    this.onAuthFailed = options.onAuthFailed;
    this.logger = options.logger ?? silentLogger;
    this.credentials = new CredentialBook(
      { authToken: options.authToken, headers: options.headers },
      options.namespace,
    );
    this.budget = new BatchBudget(this.options);
    this.round = new SyncRound({
      name: this.name,
      http: new RestClient(this.options),
      budget: this.budget,
      pageSize: this.options.pageSize,
      logger: this.logger,
      cursorKey: (repository) => `${this.name}:cursor:${this.options.baseUrl}:${repository}`,
      emit: (activity) => this.activity.emit(activity),
    });
    this.state.subscribe((state) => this.connected.set(state === 'connected'));
  }

  get connectionState(): ConnectionState {
    return this.state.value;
  }
  get stateChanges(): Subscribable<ConnectionState> {
    return this.state;
  }
  get connectionChanges(): Subscribable<boolean> {
    return this.connected;
  }
  /** Acks, verdicts, pulls done, resets, missing credentials and server errors. */
  get activityChanges(): Subscribable<SyncActivity> {
    return this.activity;
  }
  /** The limits batches keep now: the options', lowered by the server's 413 answers. */
  get batchLimits(): { maxBatchEvents: number; maxBatchBytes: number } {
    return this.budget.current;
  }

  attach(host: SyncHost): void {
    this.host = host;
  }

  handlesRepository(name: string): boolean {
    return this.repositoryNames === undefined || this.repositoryNames.includes(name);
  }

  /** Refuses, before it is stored, a change whose event alone is over `maxBatchBytes`. */
  assertPushable(event: StoredEvent): void {
    if (this.handlesRepository(event.repository)) this.budget.assertFits(event);
  }

  async start(): Promise<void> {
    if (this.disposed) throw new LocalFirstError(ERROR_CODES.closed, 'this strategy was disposed');
    if (!this.host)
      throw new LocalFirstError(
        ERROR_CODES.notInitialized,
        'attach the strategy to a LocalFirstClient before starting it',
      );
    if (this.running) return;
    this.credentials.claim(this.host.namespace);
    this.running = true;
    this.failures = 0;
    this.state.set('connecting');
    this.schedule(0);
  }

  /** Stops the rounds; a request under way is aborted (a push it made stays pending). */
  async stop(): Promise<void> {
    this.running = false;
    this.awaiting = undefined;
    this.clearTimer();
    this.controller?.abort();
    this.controller = undefined;
    this.caughtUp = new Set();
    this.state.set('stopped');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.disposed = true;
    this.activity.clear();
  }

  onPushToRemote(event: StoredEvent, namespace?: string): void {
    if (!this.running || !this.handlesRepository(event.repository)) return;
    // Another namespace's change stays pending there, for a round with its credentials.
    if ((namespace ?? this.host?.namespace) !== this.host?.namespace) return;
    if (this.inFlight) this.dirty = true;
    // After a failed round the backoff stands: writes do not hammer a server that is down.
    else if (this.state.value !== 'reconnecting') this.schedule(this.options.pushDelay);
  }

  /**
   * Runs a round now (after the one under way, if any) and resolves `true` when it pushed every
   * pending change and pulled every repository to the end; `false` when it failed or could not
   * run (stopped, no credentials). Calls made while a round waits share it.
   */
  syncNow(): Promise<boolean> {
    if (this.disposed)
      return Promise.reject(new LocalFirstError(ERROR_CODES.closed, 'this strategy was disposed'));
    if (!this.running) return Promise.resolve(false);
    return this.nextRound();
  }

  /** A round now, or right after the one under way (one follow-up for any number of asks). */
  private nextRound(): Promise<boolean> {
    if (!this.inFlight) return this.runRound();
    this.followUp ??= this.inFlight.then(() => {
      this.followUp = undefined;
      return this.running ? this.runRound() : false;
    });
    return this.followUp;
  }

  /**
   * Resolves `true` once the last round succeeded, pulled every repository this strategy syncs,
   * and no pending change of them is left; `false` if that has not happened within
   * `timeoutMs`. Pending changes start a round of their own after `pushDelay`.
   */
  whenSynced(timeoutMs: number = DEFAULT_PERIODIC_WHEN_SYNCED_TIMEOUT_MS): Promise<boolean> {
    const host = this.host;
    if (!host)
      return Promise.reject(
        new LocalFirstError(
          ERROR_CODES.notInitialized,
          'attach the strategy to a LocalFirstClient first',
        ),
      );
    const handles = (name: string) => this.handlesRepository(name);
    return waitUntilSynced(
      {
        host,
        changes: [this.activity, this.state],
        handlesRepository: handles,
        caughtUp: () =>
          this.state.value === 'connected' &&
          this.repositories(host).every((name) => this.caughtUp.has(name)),
      },
      timeoutMs,
    );
  }

  /** Replaces the token of a namespace (default: the client's); see `updateCredentials`. */
  updateAuthToken(authToken: string, target: CredentialsTarget = {}): void {
    const current = this.credentials.get(this.namespaceOf(target));
    this.updateCredentials({ ...current, authToken }, target);
  }

  /** Replaces the headers of a namespace (default: the client's); see `updateCredentials`. */
  updateHeaders(headers: Record<string, string>, target: CredentialsTarget = {}): void {
    const current = this.credentials.get(this.namespaceOf(target));
    this.updateCredentials({ ...current, headers }, target);
  }

  /**
   * Replaces token and headers of one namespace: `target.namespace`, else the client's. The
   * next request of that namespace carries them; a strategy that stopped in `failed` for want
   * of them (refused, or none given) runs a round at once.
   */
  updateCredentials(credentials: SyncCredentials, target: CredentialsTarget = {}): void {
    const namespace = this.namespaceOf(target);
    this.credentials.set(namespace, credentials);
    if (namespace === undefined || namespace !== this.awaiting || !this.running) return;
    this.awaiting = undefined;
    this.state.set('connecting');
    this.schedule(0);
  }

  setCredentials(namespace: string, credentials: SyncCredentials): void {
    this.updateCredentials(credentials, { namespace });
  }

  private namespaceOf(target: CredentialsTarget): string | undefined {
    return target.namespace ?? this.host?.namespace;
  }

  /** The client's repositories this strategy syncs. */
  private repositories(host: SyncHost): string[] {
    return host.repositoryNames().filter((name) => this.handlesRepository(name));
  }

  /** Sets the next round `delay` ms from now, unless one is due sooner. */
  private schedule(delay: number): void {
    if (!this.running || this.awaiting !== undefined) return;
    const due = Date.now() + delay;
    if (this.timer !== undefined && this.timerDue <= due) return;
    this.clearTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) void this.nextRound();
    }, delay);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private runRound(): Promise<boolean> {
    const round = this.playRound().finally(() => {
      if (this.inFlight === round) this.inFlight = undefined;
    });
    this.inFlight = round;
    return round;
  }

  private async playRound(): Promise<boolean> {
    this.clearTimer();
    const host = this.host!;
    const namespace = host.namespace;
    const credentials = this.credentials.get(namespace);
    if (!credentials) {
      this.awaitCredentials(namespace);
      return false;
    }
    const headers: Record<string, string> = { ...credentials.headers };
    if (credentials.authToken) headers.authorization = `Bearer ${credentials.authToken}`;
    const controller = new AbortController();
    this.controller = controller;
    this.dirty = false;
    const repositories = this.repositories(host);
    const result = await this.round.run({
      host: host.inNamespace(namespace),
      headers,
      repositories,
      signal: controller.signal,
    });
    if (this.controller === controller) this.controller = undefined;
    if (controller.signal.aborted || !this.running) return false;
    return this.settle(result, namespace, repositories);
  }

  /** What follows a round: the state it leaves and when the next one comes. */
  private async settle(
    result: RoundResult,
    namespace: string,
    repositories: readonly string[],
  ): Promise<boolean> {
    switch (result.kind) {
      case 'done': {
        this.failures = 0;
        this.caughtUp = new Set(result.caughtUp);
        this.state.set('connected');
        this.schedule(this.dirty ? this.options.pushDelay : this.options.syncInterval);
        return repositories.every((name) => result.caughtUp.has(name));
      }
      case 'failed': {
        this.logger.debug({ message: result.message }, 'sync round failed');
        this.caughtUp = new Set();
        this.state.set('reconnecting');
        const backoff = this.backoff();
        this.failures++;
        this.schedule(Math.max(backoff, result.retryAfterMs ?? 0));
        return false;
      }
      case 'auth_failed': {
        const failure = { code: result.code, message: result.message, namespace };
        const fresh = this.onAuthFailed ? await this.onAuthFailed(failure) : undefined;
        if (!this.running) return false;
        if (fresh) {
          this.credentials.set(namespace, fresh);
          // At once the first time; new credentials refused again wait like any failure.
          this.schedule(this.failures++ === 0 ? 0 : this.backoff());
          return false;
        }
        this.awaiting = namespace;
        this.caughtUp = new Set();
        this.state.set('failed');
        this.logger.warn({ code: result.code }, 'credentials refused; waiting for new ones');
        return false;
      }
      case 'aborted':
        return false;
    }
  }

  /** The pause after `failures` failed rounds: full jitter, never 0 so a retry never spins. */
  private backoff(): number {
    const { retryDelay, maxRetryDelay, random } = this.options;
    return Math.max(1, fullJitterBackoff(this.failures, retryDelay, maxRetryDelay, random));
  }

  private awaitCredentials(namespace: string): void {
    this.awaiting = namespace;
    this.state.set('failed');
    this.logger.warn({ namespace }, 'no credentials for this namespace: not syncing');
    this.activity.emit({ type: 'credentials_missing', namespace });
  }
}

import { ERROR_CODES, LocalFirstError, type StoredEvent } from '@local-first/core';
import { fullJitterBackoff, type SyncHost, SyncStrategyBase } from '@local-first/core/adapter';
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
 * Sync by rounds over the server's REST API. A round pulls each repository from its stored
 * cursor to the end of the log, then pushes every pending change in batches until the server
 * has answered each. Rounds come every `syncInterval`, shortly after local writes (`pushDelay`),
 * and on `syncNow()`; after a failed round the next one waits with backoff and jitter (longer
 * when the server says `Retry-After`). Connection state: `connecting` until the first round
 * ends, `connected` after a round that succeeded, `reconnecting` after one that failed.
 */
export class PeriodicSyncStrategy extends SyncStrategyBase {
  override readonly name: string;
  private readonly options: ResolvedOptions;
  private readonly budget: BatchBudget;
  private readonly round: SyncRound;
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
  private pulled = new Set<string>();

  constructor(options: PeriodicSyncStrategyOptions) {
    super(options);
    this.options = resolveOptions(options);
    this.name = this.options.name;
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
  }

  /** The limits batches keep now: the options', lowered by the server's 413 answers. */
  get batchLimits(): {
    /** Most events in one batch. */
    maxBatchEvents: number;
    /** Largest request body, in UTF-8 bytes. */
    maxBatchBytes: number;
  } {
    return this.budget.current;
  }

  /** Refuses, before it is stored, a change whose event alone is over `maxBatchBytes`. */
  assertPushable(event: StoredEvent): void {
    if (this.handlesRepository(event.repository)) this.budget.assertFits(event);
  }

  async start(): Promise<void> {
    const host = this.assertStartable(this.disposed);
    if (this.running) return;
    this.credentials.claim(host.namespace);
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
    this.pulled = new Set();
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
  override whenSynced(
    timeoutMs: number = DEFAULT_PERIODIC_WHEN_SYNCED_TIMEOUT_MS,
  ): Promise<boolean> {
    return super.whenSynced(timeoutMs);
  }

  protected caughtUp(host: SyncHost): boolean {
    return (
      this.state.value === 'connected' &&
      this.syncedRepositories(host).every((name) => this.pulled.has(name))
    );
  }

  /**
   * New credentials of `namespace`: the next request of that namespace carries them; a
   * strategy that stopped in `failed` for want of them (refused, or none given) runs a round
   * at once.
   */
  protected credentialsChanged(namespace: string): void {
    if (namespace !== this.awaiting || !this.running) return;
    this.awaiting = undefined;
    this.state.set('connecting');
    this.schedule(0);
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
    if (!this.headersOf(namespace)) {
      this.awaitCredentials(namespace);
      return false;
    }
    // A round asked for while waiting for new credentials (`syncNow`) tries the ones there are:
    // whatever it ends in, the rounds go on from it.
    if (this.awaiting !== undefined) {
      this.awaiting = undefined;
      this.state.set('connecting');
    }
    const controller = new AbortController();
    this.controller = controller;
    this.dirty = false;
    const repositories = this.syncedRepositories(host);
    const result = await this.round.run({
      host: host.inNamespace(namespace),
      headers: () => this.headersOf(namespace) ?? {},
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
        this.pulled = new Set(result.caughtUp);
        this.state.set('connected');
        this.schedule(this.dirty ? this.options.pushDelay : this.options.syncInterval);
        return repositories.every((name) => result.caughtUp.has(name));
      }
      case 'failed': {
        this.logger.debug({ message: result.message }, 'sync round failed');
        this.pulled = new Set();
        this.state.set('reconnecting');
        const backoff = this.backoff();
        this.failures++;
        this.schedule(Math.max(backoff, result.retryAfterMs ?? 0));
        return false;
      }
      case 'auth_failed': {
        // New credentials came while the refused request was out: try them before anything.
        if (!sameHeaders(this.headersOf(namespace), result.refused)) {
          this.schedule(0);
          return false;
        }
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
        this.pulled = new Set();
        this.state.set('failed');
        this.logger.warn({ code: result.code }, 'credentials refused; waiting for new ones');
        return false;
      }
      case 'aborted':
        return false;
    }
  }

  /** The headers a request of `namespace` carries; `undefined` without credentials for it. */
  private headersOf(namespace: string): Record<string, string> | undefined {
    const credentials = this.credentials.get(namespace);
    if (!credentials) return undefined;
    const headers: Record<string, string> = { ...credentials.headers };
    if (credentials.authToken) headers.authorization = `Bearer ${credentials.authToken}`;
    return headers;
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

function sameHeaders(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const keys = (headers: Record<string, string> | undefined) => Object.keys(headers ?? {}).sort();
  const [left, right] = [keys(a), keys(b)];
  return (
    left.length === right.length && left.every((key, i) => key === right[i] && a![key] === b![key])
  );
}

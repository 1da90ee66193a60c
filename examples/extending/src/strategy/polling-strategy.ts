import { ERROR_CODES, LocalFirstError, type StoredEvent, type Verdict } from '@local-first/core';
import {
  type AckMessage,
  advanceCursor,
  formatPosition,
  parsePosition,
  type StoredPosition,
  type SyncHost,
  SyncStrategyBase,
  type SyncStrategyBaseOptions,
  toWireEvent,
} from '@local-first/core/adapter';
import { eventsPath, type FetchFunction, Refusal, refusalOf, requestJson } from './rest.js';

export const DEFAULT_POLLING_STRATEGY_NAME = 'polling';
export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_PAGE_SIZE = 500;
export const DEFAULT_BATCH_SIZE = 100;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_POLLING_WHEN_SYNCED_TIMEOUT_MS = 30_000;

/**
 * Options of `PollingStrategy`. Those of `SyncStrategyBaseOptions` apply too: `repositories`
 * (default: every repository no other strategy lists), `authToken` (sent as
 * `Authorization: Bearer`), `headers`, `namespace`, `onAuthFailed`, `logger`.
 */
export interface PollingStrategyOptions extends SyncStrategyBaseOptions {
  /** Origin of the server's REST API, before `/api`: `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The `fetch` to call. Default: the platform's `globalThis.fetch`. */
  fetch?: FetchFunction;
  /** Name among the client's strategies. Default `DEFAULT_POLLING_STRATEGY_NAME`. */
  name?: string;
  /** Pause between the end of one round and the start of the next. Default 5 s. */
  intervalMs?: number;
  /** Events asked for per page (`limit`); the server may send fewer. Default 500. */
  pageSize?: number;
  /** Events per pushed batch; keep it at or under the server's `maxBatchEvents`. Default 100. */
  batchSize?: number;
  /** One request, its answer's body included, may take this long. Default 10 s. */
  requestTimeoutMs?: number;
}

/**
 * Sync by polling the server's REST API. A round pulls each repository from its stored cursor
 * to the end of the log (`GET /api/events/{repository}`), then pushes the pending changes in
 * batches (`POST /api/events/{repository}/batch`). Rounds run at `start()`, every `intervalMs`
 * after the previous one ends, and on `syncNow()`.
 *
 * It is small on purpose, and leaves out what the full `PeriodicSyncStrategy` does:
 * - no push on write: a local change waits for the next round (or `syncNow()`);
 * - no 413 handling: a batch over the server's body limit fails the round every time, so a
 *   change too large for one request blocks its repository (no halving, no `event_too_large`,
 *   no `assertPushable`);
 * - no backoff, jitter or `Retry-After`: after a failure the next round comes after `intervalMs`;
 * - no `seen` mark from acks: a restored log is noticed by its epoch or by a cursor ahead of
 *   its end, not by the strategy's own acknowledged pushes.
 */
export class PollingStrategy extends SyncStrategyBase {
  override readonly name: string;
  private readonly options: Required<
    Pick<PollingStrategyOptions, 'fetch' | 'intervalMs' | 'pageSize' | 'batchSize'>
  > & { baseUrl: string; requestTimeoutMs: number };
  private running = false;
  private disposed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private round: Promise<boolean> | undefined;
  private followUp: Promise<boolean> | undefined;
  /** Aborts the running round's requests when the strategy stops. */
  private controller: AbortController | undefined;
  /** The repositories the last round pulled to the end. */
  private pulled = new Set<string>();
  /** Stopped in `failed` until this namespace gets credentials. */
  private awaiting: string | undefined;

  constructor(options: PollingStrategyOptions) {
    super(options);
    const fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetch !== 'function') throw invalid('no `fetch` here: pass one as `fetch`');
    if (!/^https?:\/\//.test(options.baseUrl ?? '')) throw invalid('`baseUrl` must be http(s)');
    this.name = options.name ?? DEFAULT_POLLING_STRATEGY_NAME;
    this.options = {
      fetch,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      intervalMs: options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    };
  }

  async start(): Promise<void> {
    const host = this.assertStartable(this.disposed);
    if (this.running) return;
    this.credentials.claim(host.namespace);
    this.running = true;
    this.state.set('connecting');
    void this.syncNow();
  }

  /** Stops the rounds; a request under way is aborted and its changes stay pending. */
  async stop(): Promise<void> {
    this.running = false;
    this.awaiting = undefined;
    clearTimeout(this.timer);
    this.controller?.abort();
    this.pulled = new Set();
    this.state.set('stopped');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.disposed = true;
    this.activity.clear();
  }

  /** Nothing to do now: every round reads the pending changes from storage. */
  onPushToRemote(_event: StoredEvent): void {}

  /**
   * Runs a round now, or right after the one under way (calls meanwhile share it). Resolves
   * `true` when it pulled every repository and answered every change it read; `false` when
   * it failed or could not run.
   */
  syncNow(): Promise<boolean> {
    if (!this.running || this.awaiting !== undefined) return Promise.resolve(false);
    if (!this.round) return this.runRound();
    this.followUp ??= this.round.then(() => {
      this.followUp = undefined;
      return this.running ? this.runRound() : false;
    });
    return this.followUp;
  }

  override whenSynced(timeoutMs = DEFAULT_POLLING_WHEN_SYNCED_TIMEOUT_MS): Promise<boolean> {
    return super.whenSynced(timeoutMs);
  }

  protected caughtUp(host: SyncHost): boolean {
    return (
      this.state.value === 'connected' &&
      this.syncedRepositories(host).every((name) => this.pulled.has(name))
    );
  }

  /** Requests read the credentials each time; a strategy waiting for these resumes. */
  protected credentialsChanged(namespace: string): void {
    if (!this.running || this.awaiting !== namespace) return;
    this.awaiting = undefined;
    this.state.set('connecting');
    void this.syncNow();
  }

  private runRound(): Promise<boolean> {
    clearTimeout(this.timer);
    const round = this.playRound().finally(() => {
      if (this.round === round) this.round = undefined;
      if (!this.running || this.followUp || this.awaiting !== undefined) return;
      this.timer = setTimeout(() => void this.syncNow(), this.options.intervalMs);
    });
    this.round = round;
    return round;
  }

  private async playRound(): Promise<boolean> {
    const host = this.host!;
    const namespace = host.namespace;
    if (!this.credentials.get(namespace)) {
      this.awaiting = namespace;
      this.state.set('failed');
      this.activity.emit({ type: 'credentials_missing', namespace });
      return false;
    }
    const controller = new AbortController();
    this.controller = controller;
    // Held to this namespace: if the client moves to another one meantime, reads fail and
    // writes change nothing, so nothing of this account lands in the other.
    const scoped = host.inNamespace(namespace);
    const repositories = this.syncedRepositories(host);
    try {
      for (const repository of repositories)
        await this.pull(scoped, namespace, repository, controller.signal);
      await this.push(scoped, namespace, repositories, controller.signal);
      this.pulled = new Set(repositories);
      this.state.set('connected');
      return true;
    } catch (error) {
      if (controller.signal.aborted || !this.running) return false;
      if (error instanceof LocalFirstError && error.code === ERROR_CODES.namespaceChanged)
        return false;
      this.pulled = new Set();
      if (error instanceof Refusal && error.status === 401) await this.authFailed(error, namespace);
      else this.state.set('reconnecting');
      this.logger.debug({ error: String(error) }, 'polling round failed');
      return false;
    } finally {
      if (this.controller === controller) this.controller = undefined;
    }
  }

  /** Pulls one repository to the end of the log; events and cursor go in one transaction. */
  private async pull(host: SyncHost, namespace: string, repository: string, signal: AbortSignal) {
    const key = `${this.name}:cursor:${this.options.baseUrl}:${repository}`;
    let position: StoredPosition = parsePosition(await host.getMeta(key));
    for (;;) {
      const asked = position.sequence;
      const query = `afterSequence=${asked}&limit=${this.options.pageSize}`;
      const answer = await this.call(namespace, eventsPath(repository, `?${query}`), signal);
      if (answer.status !== 200) throw refusalOf(answer);
      const { body } = answer;
      const events = Array.isArray(body.events) ? (body.events as unknown[]) : [];
      const epoch = typeof body.epoch === 'string' ? body.epoch : undefined;
      const last = typeof body.lastSequence === 'number' ? body.lastSequence : undefined;
      const newEpoch =
        position.epoch !== undefined && epoch !== undefined && epoch !== position.epoch;
      if (newEpoch || (last !== undefined && last < asked)) {
        // Not the log our cursor points into (wiped, or restored from an older copy): start
        // over from its beginning, and push again what this device wrote.
        position = { sequence: 0, epoch };
        await host.applyRemoteEvents(repository, [], { key, value: formatPosition(position) });
        await host.requeueLocalEvents(repository);
        this.activity.emit({
          type: 'reset',
          repository,
          reason: newEpoch ? 'epoch' : 'cursor_ahead',
        });
        continue;
      }
      const sequences = events.map(
        (event) => (event as { serverSequence?: number } | null)?.serverSequence,
      );
      const { cursor } = advanceCursor(asked, sequences, { catchUp: true, lastSequence: last });
      position = { sequence: cursor, epoch: epoch ?? position.epoch };
      await host.applyRemoteEvents(repository, events, { key, value: formatPosition(position) });
      if (body.hasMore !== true) break;
      if (cursor <= asked) throw new Error(`the pages of ${repository} do not advance`);
    }
    this.activity.emit({ type: 'sync_complete', repository, lastSequence: position.sequence });
  }

  /** Pushes the pending changes, oldest first, in batches of one repository. */
  private async push(
    host: SyncHost,
    namespace: string,
    repositories: string[],
    signal: AbortSignal,
  ) {
    const pending = await host.getPendingEvents();
    for (const repository of repositories) {
      const events = pending.filter((event) => event.repository === repository);
      for (let start = 0; start < events.length; start += this.options.batchSize) {
        const batch = events.slice(start, start + this.options.batchSize);
        const body = JSON.stringify({ events: batch.map(toWireEvent) });
        const answer = await this.call(namespace, eventsPath(repository, '/batch'), signal, body);
        if (answer.status === 403) {
          // No write access: the server's final word on each of them.
          const message = String(answer.body.message ?? 'forbidden');
          await this.reject(
            host,
            batch.map(({ eventId }) => ({ eventId, code: 'forbidden', message })),
          );
          continue;
        }
        if (answer.status !== 201) throw refusalOf(answer);
        const ack = answer.body as Partial<AckMessage>;
        const eventIds = Array.isArray(ack.eventIds) ? ack.eventIds : [];
        if (eventIds.length > 0) {
          await host.markSynced(eventIds);
          this.activity.emit({ type: 'acknowledged', eventIds: [...eventIds] });
        }
        // Events in neither list stay pending: the next round sends them again.
        if (Array.isArray(ack.rejected) && ack.rejected.length > 0)
          await this.reject(host, ack.rejected);
      }
    }
  }

  private async reject(host: SyncHost, refused: Omit<Verdict, 'source'>[]): Promise<void> {
    const verdicts: Verdict[] = refused.map(({ eventId, code, message }) => ({
      eventId,
      code,
      message,
      source: 'server',
    }));
    await host.rejectEvents(verdicts);
    this.activity.emit({ type: 'rejected', rejected: verdicts });
  }

  private async authFailed(error: Refusal, namespace: string): Promise<void> {
    const failure = { code: error.code, message: error.message, namespace };
    const fresh = this.onAuthFailed ? await this.onAuthFailed(failure) : undefined;
    if (!this.running) return;
    if (fresh) {
      this.credentials.set(namespace, fresh);
      this.state.set('reconnecting');
      return;
    }
    this.awaiting = namespace;
    this.state.set('failed');
  }

  /** One request with this namespace's credentials as they are now. */
  private call(namespace: string, path: string, signal: AbortSignal, body?: string) {
    const { authToken, headers: extra } = this.credentials.get(namespace) ?? {};
    const headers: Record<string, string> = { ...extra };
    if (authToken) headers.authorization = `Bearer ${authToken}`;
    const { fetch, baseUrl, requestTimeoutMs: timeoutMs } = this.options;
    return requestJson(fetch, baseUrl + path, {
      headers,
      signal,
      timeoutMs,
      ...(body ? { body } : {}),
    });
  }
}

function invalid(message: string): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.invalidArgument, message);
}

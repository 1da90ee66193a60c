import {
  type AckMessage,
  type AuthSuccessMessage,
  CLOSE_CODES,
  type CloseInfo,
  type ConnectionState,
  DEFAULT_MAX_FRAME_BYTES,
  Emitter,
  ERROR_CODES,
  type ErrorMessage,
  type EventsMessage,
  LocalFirstError,
  type Logger,
  PROTOCOL_VERSION,
  type ServerMessage,
  StateSignal,
  type StoredEvent,
  type Subscribable,
  type SyncCompleteMessage,
  type SyncHost,
  type SyncStrategy,
  silentLogger,
  type TransportConnection,
  toWireEvent,
} from '@local-first/core';
import { advanceCursor, formatPosition, parsePosition } from './cursor.js';
import { type BatchLimits, envelopeBytes, eventBytes } from './frame-size.js';
import { Link } from './link.js';
import {
  type AuthFailure,
  backoffDelay,
  type Credentials,
  DEFAULT_WHEN_SYNCED_TIMEOUT_MS,
  DEFAULTS,
  MIN_FRAME_BUDGET_BYTES,
  type WebSocketSyncStrategyOptions,
} from './options.js';
import type { Batch } from './push-queue.js';
import { waitUntilSynced } from './when-synced.js';

/** What the strategy tells listeners besides connection state. */
export type SyncActivity =
  | { type: 'sync_complete'; repository: string; lastSequence: number }
  | { type: 'acknowledged'; eventIds: string[] }
  | { type: 'rejected'; rejected: NonNullable<AckMessage['rejected']> }
  | { type: 'reset'; repository: string; reason: 'epoch' | 'cursor_ahead' }
  | {
      type: 'server_error';
      code: string;
      message: string;
      requestType?: string;
      repository?: string;
    };

type Resolved = Required<
  Omit<
    WebSocketSyncStrategyOptions,
    'repositories' | 'authToken' | 'headers' | 'onAuthFailed' | 'logger'
  >
>;

/** A request id longer than any a link issues, so size checks hold for every batch. */
const LONGEST_REQUEST_ID = 'z'.repeat(12);

/**
 * Real-time sync over a persistent socket: pushes each local change at once (changes made
 * while pushes are in flight leave together, in batches cut to the server's limits), applies
 * the server's live events, and on every (re)connect catches up from its stored cursor and
 * re-sends every pending event from storage, deletes included, until acknowledged.
 *
 * Its states and transitions are written down in the package's SPEC.md. Everything that
 * belongs to one connection lives in a `Link` that is dropped whole when the connection ends.
 */
export class WebSocketSyncStrategy implements SyncStrategy {
  readonly name: string;
  private readonly options: Resolved;
  private readonly repositories: ReadonlySet<string> | undefined;
  private readonly onAuthFailed: WebSocketSyncStrategyOptions['onAuthFailed'];
  private readonly logger: Logger;
  private readonly state = new StateSignal<ConnectionState>('stopped');
  private readonly connected = new StateSignal<boolean>(false);
  private readonly activity = new Emitter<SyncActivity>();
  private credentials: Credentials;
  private host: SyncHost | undefined;
  private link: Link | undefined;
  private running = false;
  private disposed = false;
  private attempt = 0;
  /** Bumped by every connect and stop, so an open that resolves late knows it is stale. */
  private opening = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private lastAuthFailure: AuthFailure | undefined;
  /** The server's limits as last announced (defaults until then). */
  private serverLimits: BatchLimits;
  /** Lowered when a frame was closed with 1009 although it kept the limits we knew. */
  private frameBudget = Number.POSITIVE_INFINITY;

  constructor(options: WebSocketSyncStrategyOptions) {
    this.options = {
      ...DEFAULTS,
      random: Math.random,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    } as Resolved;
    this.name = this.options.name;
    this.repositories = options.repositories ? new Set(options.repositories) : undefined;
    this.onAuthFailed = options.onAuthFailed;
    this.logger = options.logger ?? silentLogger;
    this.credentials = { authToken: options.authToken, headers: options.headers };
    this.serverLimits = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxBatchEvents: Infinity };
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
  /** Sync milestones and server answers worth knowing about (acks, rejections, catch-ups done). */
  get activityChanges(): Subscribable<SyncActivity> {
    return this.activity;
  }

  attach(host: SyncHost): void {
    this.host = host;
  }

  handlesRepository(name: string): boolean {
    return this.repositories === undefined || this.repositories.has(name);
  }

  /** The limits batches keep now: ours, the server's, and what a 1009 taught us. */
  get batchLimits(): BatchLimits {
    return {
      maxFrameBytes: Math.min(
        this.options.maxFrameBytes,
        this.serverLimits.maxFrameBytes,
        this.frameBudget,
      ),
      maxBatchEvents: Math.min(this.options.maxBatchEvents, this.serverLimits.maxBatchEvents),
    };
  }

  /** Refuses, before it is stored, a change whose event alone could never fit in a frame. */
  assertPushable(event: StoredEvent): void {
    if (!this.handlesRepository(event.repository)) return;
    const limit = this.batchLimits.maxFrameBytes;
    const bytes = eventBytes(event) + envelopeBytes(event.repository, LONGEST_REQUEST_ID);
    if (bytes <= limit) return;
    throw new LocalFirstError(
      ERROR_CODES.eventTooLarge,
      `this change takes ${bytes} bytes on the wire; the server accepts at most ${limit} per frame`,
      { details: { eventId: event.eventId, repository: event.repository, bytes, limit } },
    );
  }

  async start(): Promise<void> {
    if (this.disposed) throw new LocalFirstError(ERROR_CODES.closed, 'this strategy was disposed');
    if (!this.host)
      throw new LocalFirstError(
        ERROR_CODES.notInitialized,
        'attach the strategy to a LocalFirstClient before starting it',
      );
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.state.set('connecting');
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.opening++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropLink(CLOSE_CODES.normal, 'client stopped');
    this.state.set('stopped');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.disposed = true;
    this.activity.clear();
  }

  onPushToRemote(event: StoredEvent): void {
    const link = this.link;
    if (!link?.authenticated || !this.handlesRepository(event.repository)) return;
    // Until the stored pending events are queued, newer ones wait behind them to keep order.
    if (link.early) link.early.push(event);
    else link.queue.add([event]);
  }

  /** Replaces the token; re-authenticates on the open socket. */
  updateAuthToken(authToken: string): void {
    this.updateCredentials({ authToken, headers: this.credentials.headers });
  }

  /** Replaces the headers; re-authenticates on the open socket. */
  updateHeaders(headers: Record<string, string>): void {
    this.updateCredentials({ authToken: this.credentials.authToken, headers });
  }

  /** Replaces token and headers at once; re-authenticates on the open socket. */
  updateCredentials(credentials: Credentials): void {
    this.credentials = { ...credentials };
    if (this.link) this.sendAuth(this.link);
  }

  /**
   * Resolves `true` once this strategy is connected, has caught up on every repository it
   * syncs, and the server has acknowledged every pending change of those repositories; `false`
   * if that has not happened within `timeoutMs`. Handy for scripts that write and exit.
   */
  whenSynced(timeoutMs: number = DEFAULT_WHEN_SYNCED_TIMEOUT_MS): Promise<boolean> {
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
        caughtUp: () => {
          const link = this.link;
          return (
            this.state.value === 'connected' &&
            link !== undefined &&
            host
              .repositoryNames()
              .filter(handles)
              .every((name) => link.caughtUp.has(name))
          );
        },
      },
      timeoutMs,
    );
  }

  private async connect(): Promise<void> {
    const opening = ++this.opening;
    const headers = { ...this.credentials.headers };
    if (this.credentials.authToken) headers.Authorization = `Bearer ${this.credentials.authToken}`;
    let connection: TransportConnection;
    try {
      connection = await this.options.transport.open(this.options.websocketUrl, {
        headers,
        timeoutMs: this.options.connectTimeout,
      });
    } catch (error) {
      this.logger.debug({ error, url: this.options.websocketUrl }, 'connection failed');
      if (opening === this.opening) this.scheduleReconnect();
      return;
    }
    if (opening !== this.opening || !this.running) {
      connection.close(CLOSE_CODES.normal, 'client stopped');
      return;
    }
    const link = new Link(connection, {
      heartbeatInterval: this.options.heartbeatInterval,
      pongTimeout: this.options.pongTimeout,
      maxBatchesInFlight: this.options.maxBatchesInFlight,
      limits: this.batchLimits,
      sendBatch: (owner, batch) => this.sendBatch(owner, batch),
      refuse: (owner, event, bytes, limit) => this.refuse(owner, event, bytes, limit),
      onDead: (owner) => this.abandon(owner, { code: 4000, reason: 'no answer to ping' }),
      onFailure: (owner, error) => {
        this.logger.error({ error }, 'handling a server message failed; reconnecting');
        this.abandon(owner, { code: 4000, reason: 'client failure' });
      },
    });
    this.link = link;
    connection.onMessage((message) => {
      // Liveness is the arrival of a frame, however long the frames before it take to apply.
      link.heartbeat.alive();
      link.enqueue(() => this.handle(link, message as ServerMessage));
    });
    // The close waits behind the messages that came before it (an auth_failed explains a 4401).
    connection.onClose((info) => link.enqueue(() => this.abandon(link, info)));
    connection.onError((error) => this.logger.debug({ error: error.message }, 'connection error'));
    this.lastAuthFailure = undefined;
    this.sendAuth(link);
    link.after(this.options.authTimeout, () => {
      if (!link.authenticated) this.abandon(link, { code: 4000, reason: 'no answer to auth' });
    });
  }

  private sendAuth(link: Link): void {
    link.send({
      type: 'auth',
      protocol: PROTOCOL_VERSION,
      clientId: this.host!.clientId,
      requestId: link.authRequestId,
      ...(this.credentials.authToken ? { token: this.credentials.authToken } : {}),
      ...(this.credentials.headers ? { headers: this.credentials.headers } : {}),
    });
  }

  private async handle(link: Link, message: ServerMessage): Promise<void> {
    if (link !== this.link) return;
    switch (message.type) {
      case 'auth_success':
        return this.onAuthenticated(link, message);
      case 'auth_failed':
        this.lastAuthFailure = { code: message.code, message: message.message };
        return;
      case 'ping':
        link.send({ type: 'pong' });
        return;
      case 'pong':
        return;
      case 'ack':
        return this.onAck(link, message);
      case 'events':
        return this.onEvents(link, message);
      case 'sync_complete':
        return this.onSyncComplete(link, message);
      case 'error':
        return this.onError(link, message);
      case 'lagging':
        // Live events were held back: the log has them, from our cursor.
        if (this.handlesRepository(message.repository))
          this.requestCatchUp(link, message.repository);
        return;
      case 'access_revoked':
        this.logger.warn({ repository: message.repository }, 'read access revoked');
        return;
    }
  }

  private async onAuthenticated(link: Link, message: AuthSuccessMessage): Promise<void> {
    if (message.limits) {
      this.serverLimits = {
        maxFrameBytes: message.limits.maxFrameBytes,
        maxBatchEvents: message.limits.maxBatchEvents,
      };
      link.limits = this.batchLimits;
    }
    if (link.authenticated) return; // a re-authentication on the open socket
    const host = this.host!;
    link.authenticated = true;
    link.echoesRequestIds = message.requestId === link.authRequestId;
    // Without request ids an error cannot name its batch unless only one is in flight.
    if (!link.echoesRequestIds) link.queue.limitInFlight(1);
    link.early = [];
    this.state.set('connected');
    link.heartbeat.start();
    link.after(this.options.stableConnectionMs, () => {
      this.attempt = 0;
    });
    for (const repository of host.repositoryNames().filter((name) => this.handlesRepository(name))) {
      const position = parsePosition(await host.getMeta(this.cursorKey(repository)));
      if (link.closed) return;
      link.positions.set(repository, position);
      this.requestCatchUp(link, repository);
    }
    const pending = await host.getPendingEvents();
    if (link.closed) return;
    const early = link.early ?? [];
    link.early = undefined;
    link.queue.add([...pending.filter((event) => this.handlesRepository(event.repository)), ...early]);
  }

  private requestCatchUp(link: Link, repository: string): void {
    if (!link.authenticated || link.catchUps.has(repository)) return;
    const afterSequence = link.positions.get(repository)?.sequence ?? 0;
    const requestId = link.nextRequestId();
    link.catchUps.set(repository, { requestId, afterSequence });
    link.caughtUp.delete(repository);
    link.send({ type: 'request_events', repository, afterSequence, requestId });
  }

  private async onAck(link: Link, ack: AckMessage): Promise<void> {
    const host = this.host!;
    const rejected = ack.rejected ?? [];
    if (ack.eventIds.length > 0) await host.markSynced(ack.eventIds);
    if (rejected.length > 0) {
      await host.rejectEvents(
        rejected.map((entry) => ({
          eventId: entry.eventId,
          code: entry.code,
          message: entry.message,
          source: 'server' as const,
        })),
      );
      this.activity.emit({ type: 'rejected', rejected });
    }
    if (link.closed) return;
    link.pushAttempts = 0;
    link.queue.acknowledged(ack.requestId, [
      ...ack.eventIds,
      ...rejected.map((entry) => entry.eventId),
    ]);
    if (ack.eventIds.length > 0)
      this.activity.emit({ type: 'acknowledged', eventIds: ack.eventIds });
  }

  /**
   * Applies a page or a live broadcast. The cursor only moves over an unbroken run of
   * sequences, so it never skips an event: a live broadcast that arrives ahead of a gap is
   * applied (idempotently) and a catch-up from the cursor fills the gap.
   */
  private async onEvents(link: Link, message: EventsMessage): Promise<void> {
    const { repository } = message;
    if (!this.handlesRepository(repository) || !Array.isArray(message.events)) return;
    const catchUpPage = message.hasMore !== undefined;
    const asked = link.catchUps.get(repository);
    // A page of a request this link no longer waits for (a reset started over) moves nothing.
    if (catchUpPage && link.echoesRequestIds && asked?.requestId !== message.requestId) return;
    const position = link.positions.get(repository) ?? { sequence: 0, epoch: undefined };
    if (this.epochChanged(position.epoch, message.epoch))
      return this.reset(link, repository, message.epoch, 'epoch');
    const { cursor, gap } = advanceCursor(
      position.sequence,
      message.events.map((event) => event.serverSequence),
      { catchUp: catchUpPage, lastSequence: message.lastSequence },
    );
    const next = { sequence: cursor, epoch: message.epoch ?? position.epoch };
    const moved = cursor !== position.sequence || next.epoch !== position.epoch;
    const result = await this.host!.applyRemoteEvents(
      repository,
      message.events,
      moved ? { key: this.cursorKey(repository), value: formatPosition(next) } : undefined,
    );
    if (link.closed) return;
    link.positions.set(repository, next);
    if (result.invalid.length > 0)
      this.logger.warn({ repository, invalid: result.invalid }, 'server sent malformed events');
    link.receipts.add(repository, message.events.length, cursor, catchUpPage);
    if (gap) this.requestCatchUp(link, repository);
  }

  private async onSyncComplete(link: Link, message: SyncCompleteMessage): Promise<void> {
    const repository = message.repository;
    if (repository === undefined || !this.handlesRepository(repository)) return;
    const asked = link.catchUps.get(repository);
    if (!asked || (link.echoesRequestIds && asked.requestId !== message.requestId)) return;
    const position = link.positions.get(repository) ?? { sequence: 0, epoch: undefined };
    if (this.epochChanged(position.epoch, message.epoch))
      return this.reset(link, repository, message.epoch, 'epoch');
    // The server's log ends before the cursor we asked from: it was restored from an older copy.
    if (message.lastSequence !== undefined && message.lastSequence < asked.afterSequence)
      return this.reset(link, repository, message.epoch ?? position.epoch, 'cursor_ahead');
    if (message.epoch !== undefined && position.epoch === undefined) {
      const next = { sequence: position.sequence, epoch: message.epoch };
      await this.host!.applyRemoteEvents(repository, [], {
        key: this.cursorKey(repository),
        value: formatPosition(next),
      });
      if (link.closed) return;
      link.positions.set(repository, next);
    }
    link.catchUps.delete(repository);
    link.catchUpAttempts.delete(repository);
    link.caughtUp.add(repository);
    this.activity.emit({
      type: 'sync_complete',
      repository,
      lastSequence: link.positions.get(repository)?.sequence ?? 0,
    });
  }

  private epochChanged(stored: string | undefined, received: string | undefined): boolean {
    return stored !== undefined && received !== undefined && stored !== received;
  }

  /**
   * The server's log of a repository is not the one our cursor points into: start over from
   * its beginning. Pending events stay pending; this device's acknowledged events are pushed
   * again (the restored log may lack them; the server keeps each eventId once).
   */
  private async reset(
    link: Link,
    repository: string,
    epoch: string | undefined,
    reason: 'epoch' | 'cursor_ahead',
  ): Promise<void> {
    const host = this.host!;
    this.logger.warn({ repository, reason }, 'the server log was recreated; syncing from its start');
    const next = { sequence: 0, epoch };
    await host.applyRemoteEvents(repository, [], {
      key: this.cursorKey(repository),
      value: formatPosition(next),
    });
    const resent = await host.requeueLocalEvents(repository);
    if (link.closed) return;
    link.positions.set(repository, next);
    link.catchUps.delete(repository);
    this.activity.emit({ type: 'reset', repository, reason });
    this.requestCatchUp(link, repository);
    link.queue.add(resent);
  }

  private onError(link: Link, message: ErrorMessage): void {
    this.activity.emit({
      type: 'server_error',
      code: message.code,
      message: message.message,
      ...(message.requestType ? { requestType: message.requestType } : {}),
      ...(message.repository ? { repository: message.repository } : {}),
    });
    this.logger.warn(
      { code: message.code, requestType: message.requestType, repository: message.repository },
      message.message,
    );
    switch (message.requestType) {
      case 'push_events_batch':
      case 'push_event':
        return this.onPushError(link, message);
      case 'request_events':
        return this.onCatchUpError(link, message);
    }
  }

  /** A push the server did not take goes back in front, and is sent again after a pause. */
  private onPushError(link: Link, message: ErrorMessage): void {
    const requestId = link.echoesRequestIds ? message.requestId : undefined;
    if (link.queue.failed(requestId, message.code) !== 'resume_later') return;
    const delay = Math.max(message.retryAfterMs ?? 0, this.retryDelay(link.pushAttempts++));
    link.after(delay, () => link.queue.resume());
  }

  /** A catch-up the server did not serve is asked again after a pause, with backoff. */
  private onCatchUpError(link: Link, message: ErrorMessage): void {
    const failed = [...link.catchUps].filter(
      ([repository, asked]) =>
        (link.echoesRequestIds && message.requestId !== undefined
          ? asked.requestId === message.requestId
          : message.repository === undefined || message.repository === repository),
    );
    for (const [repository] of failed) {
      link.catchUps.delete(repository);
      const attempt = link.catchUpAttempts.get(repository) ?? 0;
      link.catchUpAttempts.set(repository, attempt + 1);
      const delay = Math.max(message.retryAfterMs ?? 0, this.retryDelay(attempt));
      link.after(delay, () => this.requestCatchUp(link, repository));
    }
  }

  /** Backoff of a retried request: like reconnects, but never 0 so a retry is never a spin. */
  private retryDelay(attempt: number): number {
    return Math.max(1, backoffDelay(attempt, this.options));
  }

  private sendBatch(link: Link, batch: Batch): void {
    link.send({
      type: 'push_events_batch',
      repository: batch.repository,
      requestId: batch.requestId,
      events: batch.events.map(toWireEvent),
    });
  }

  /** An event that can never fit in a frame: a final verdict, so it never blocks the rest. */
  private refuse(link: Link, event: StoredEvent, bytes: number, limit: number): void {
    if (link.closed) return;
    const rejection = {
      eventId: event.eventId,
      code: ERROR_CODES.eventTooLarge,
      message: `the change takes ${bytes} bytes; a frame holds at most ${limit}`,
      source: 'client' as const,
    };
    this.host!.rejectEvents([rejection]).catch((error: unknown) =>
      this.logger.error({ error, eventId: event.eventId }, 'could not refuse an event'),
    );
  }

  /**
   * The link is gone (closed, dead, or not to be trusted): drop it whole and, unless stopped,
   * reconnect. Runs at once for a dead link: a close handshake over it may never complete.
   */
  private async abandon(link: Link, info: CloseInfo): Promise<void> {
    if (link !== this.link) return;
    this.dropLink(info.code, info.reason);
    if (!this.running) return;
    if (info.code === CLOSE_CODES.tooLarge) {
      // Our frames kept the limits we knew, so the real one is lower: halve what we send.
      this.frameBudget = Math.max(
        MIN_FRAME_BUDGET_BYTES,
        Math.floor(this.batchLimits.maxFrameBytes / 2),
      );
    }
    if (info.code === CLOSE_CODES.authFailed) {
      const failure = this.lastAuthFailure ?? {
        code: 'expired',
        message: info.reason || 'credentials expired',
      };
      const fresh = this.onAuthFailed ? await this.onAuthFailed(failure) : undefined;
      if (!this.running || this.link) return;
      if (!fresh) {
        this.running = false;
        this.state.set('failed');
        this.logger.warn({ code: failure.code }, 'credentials refused; sync stopped');
        return;
      }
      this.credentials = { ...fresh };
    }
    this.scheduleReconnect();
  }

  private dropLink(code?: number, reason?: string): void {
    const link = this.link;
    this.link = undefined;
    // Codes a script may not send (1006, 1009…) mean the connection is already gone.
    const sendable = code !== undefined && (code === 1000 || (code >= 3000 && code <= 4999));
    link?.dispose(sendable ? code : undefined, reason);
    if (this.running && link) this.state.set('reconnecting');
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    this.state.set('reconnecting');
    const delay = backoffDelay(this.attempt++, this.options);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running) void this.connect();
    }, delay);
  }

  private cursorKey(repository: string): string {
    return `${this.name}:cursor:${this.options.websocketUrl}:${repository}`;
  }
}

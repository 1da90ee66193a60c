import {
  type AckMessage,
  CLOSE_CODES,
  type ClientMessage,
  type CloseInfo,
  type ConnectionState,
  Emitter,
  type EventsMessage,
  type Logger,
  PROTOCOL_VERSION,
  type ServerMessage,
  StateSignal,
  type StoredEvent,
  type Subscribable,
  type SyncEvent,
  type SyncHost,
  type SyncStrategy,
  silentLogger,
  type TransportConnection,
  toWireEvent,
} from '@local-first/core';
import { advanceCursor } from './cursor.js';
import { Heartbeat } from './heartbeat.js';
import {
  type AuthFailure,
  backoffDelay,
  type Credentials,
  DEFAULT_WHEN_SYNCED_TIMEOUT_MS,
  DEFAULTS,
  type WebSocketSyncStrategyOptions,
} from './options.js';
import { PushQueue } from './push-queue.js';
import { LiveReceipts } from './receipts.js';
import { waitUntilSynced } from './when-synced.js';

type Timer = ReturnType<typeof setTimeout>;

/** What the strategy tells listeners besides connection state. */
export type SyncActivity =
  | { type: 'sync_complete'; repository: string; lastSequence: number }
  | { type: 'acknowledged'; eventIds: string[] }
  | { type: 'rejected'; rejected: NonNullable<AckMessage['rejected']> }
  | { type: 'server_error'; code: string; message: string; requestType?: string };

/**
 * Real-time sync over a persistent socket: pushes each local change at once (changes made
 * while a push is in flight leave together as one batch), applies the server's live events,
 * and on every (re)connect catches up from its stored cursor and re-sends every pending event
 * from storage, deletes included, until acknowledged.
 */
export class WebSocketSyncStrategy implements SyncStrategy {
  readonly name: string;
  private readonly options: Required<
    Omit<
      WebSocketSyncStrategyOptions,
      'repositories' | 'authToken' | 'headers' | 'onAuthFailed' | 'logger'
    >
  >;
  private readonly repositories: ReadonlySet<string> | undefined;
  private readonly onAuthFailed: WebSocketSyncStrategyOptions['onAuthFailed'];
  private readonly logger: Logger;
  private readonly state = new StateSignal<ConnectionState>('stopped');
  private readonly connected = new StateSignal<boolean>(false);
  private readonly activity = new Emitter<SyncActivity>();
  private credentials: Credentials;
  private host: SyncHost | undefined;
  private connection: TransportConnection | undefined;
  private authenticated = false;
  private running = false;
  private disposed = false;
  private attempt = 0;
  private generation = 0;
  private inbox: Promise<void> = Promise.resolve();
  private readonly cursors = new Map<string, number>();
  private readonly catchingUp = new Set<string>();
  /** Repositories whose catch-up finished on the current connection. */
  private readonly caughtUp = new Set<string>();
  private lastAuthFailure: AuthFailure | undefined;
  private readonly timers = new Set<Timer>();
  private readonly heartbeat: Heartbeat;
  private readonly queue: PushQueue;
  private readonly receipts = new LiveReceipts((message) => this.sendIfOpen(message));
  private early: StoredEvent[] | undefined;

  constructor(options: WebSocketSyncStrategyOptions) {
    this.options = {
      ...DEFAULTS,
      random: Math.random,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    } as WebSocketSyncStrategy['options'];
    this.name = this.options.name;
    this.repositories = options.repositories ? new Set(options.repositories) : undefined;
    this.onAuthFailed = options.onAuthFailed;
    this.logger = options.logger ?? silentLogger;
    this.credentials = { authToken: options.authToken, headers: options.headers };
    this.queue = new PushQueue(
      (repository, events) => this.sendBatch(repository, events),
      this.options.maxBatchEvents,
      Math.max(1, this.options.maxBatchesInFlight),
    );
    this.heartbeat = new Heartbeat(this.options.heartbeatInterval, this.options.pongTimeout);
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

  async start(): Promise<void> {
    if (this.disposed) throw new Error('this strategy was disposed');
    if (!this.host) throw new Error('attach the strategy to a LocalFirstClient before starting it');
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.state.set('connecting');
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.teardown(CLOSE_CODES.normal, 'client stopped');
    this.state.set('stopped');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.disposed = true;
    this.activity.clear();
  }

  onPushToRemote(event: StoredEvent): void {
    if (!this.authenticated || !this.handlesRepository(event.repository)) return;
    // Until the stored pending events are queued, newer ones wait behind them to keep order.
    if (this.early) this.early.push(event);
    else this.queue.add([event]);
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
    if (this.connection?.isOpen) this.sendAuth(this.connection);
  }

  /**
   * Resolves `true` once this strategy is connected, has caught up on every repository it
   * syncs, and the server has acknowledged every pending change of those repositories; `false`
   * if that has not happened within `timeoutMs`. Handy for scripts that write and exit.
   */
  whenSynced(timeoutMs: number = DEFAULT_WHEN_SYNCED_TIMEOUT_MS): Promise<boolean> {
    const host = this.host;
    if (!host) return Promise.reject(new Error('attach the strategy to a LocalFirstClient first'));
    const handles = (name: string) => this.handlesRepository(name);
    return waitUntilSynced(
      {
        host,
        changes: [this.activity, this.state],
        handlesRepository: handles,
        caughtUp: () =>
          this.state.value === 'connected' &&
          host
            .repositoryNames()
            .filter(handles)
            .every((name) => this.caughtUp.has(name)),
      },
      timeoutMs,
    );
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
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
      if (generation === this.generation) this.scheduleReconnect();
      return;
    }
    if (generation !== this.generation || !this.running) {
      connection.close(CLOSE_CODES.normal, 'client stopped');
      return;
    }
    this.connection = connection;
    connection.onMessage((message) => {
      this.inbox = this.inbox
        .then(() => this.handle(message as ServerMessage, generation))
        .catch((error: unknown) =>
          this.logger.error({ error }, 'handling a server message failed'),
        );
    });
    // The close waits behind the messages that came before it (an auth_failed explains a 4401).
    connection.onClose((info) => {
      this.inbox = this.inbox.then(() => this.onClosed(info, generation));
    });
    connection.onError((error) => this.logger.debug({ error: error.message }, 'connection error'));
    this.lastAuthFailure = undefined;
    this.sendAuth(connection);
    this.after(this.options.authTimeout, () => {
      if (generation === this.generation && !this.authenticated)
        connection.close(4000, 'no answer to auth');
    });
  }

  private sendAuth(connection: TransportConnection): void {
    connection.send({
      type: 'auth',
      protocol: PROTOCOL_VERSION,
      clientId: this.host!.clientId,
      ...(this.credentials.authToken ? { token: this.credentials.authToken } : {}),
      ...(this.credentials.headers ? { headers: this.credentials.headers } : {}),
    });
  }

  private async handle(message: ServerMessage, generation: number): Promise<void> {
    if (generation !== this.generation) return;
    this.heartbeat.alive();
    switch (message.type) {
      case 'auth_success':
        if (!this.authenticated) await this.onAuthenticated(generation);
        return;
      case 'auth_failed':
        this.lastAuthFailure = { code: message.code, message: message.message };
        return;
      case 'ping':
        this.connection?.send({ type: 'pong' });
        return;
      case 'pong':
        return;
      case 'ack':
        return this.onAck(message);
      case 'events':
        return this.onEvents(message);
      case 'sync_complete':
        if (message.repository !== undefined) {
          this.catchingUp.delete(message.repository);
          this.caughtUp.add(message.repository);
          this.activity.emit({
            type: 'sync_complete',
            repository: message.repository,
            lastSequence: this.cursors.get(message.repository) ?? 0,
          });
        }
        return;
      case 'error':
        this.activity.emit({
          type: 'server_error',
          code: message.code,
          message: message.message,
          ...(message.requestType ? { requestType: message.requestType } : {}),
        });
        if (message.requestType === 'push_events_batch') this.onPushError(message.code);
        if (message.requestType === 'request_events') this.catchingUp.clear();
        this.logger.warn({ code: message.code, requestType: message.requestType }, message.message);
        return;
    }
  }

  private async onAuthenticated(generation: number): Promise<void> {
    const host = this.host!;
    this.authenticated = true;
    this.early = [];
    this.state.set('connected');
    if (this.connection) this.heartbeat.start(this.connection);
    this.after(this.options.stableConnectionMs, () => {
      if (generation === this.generation && this.authenticated) this.attempt = 0;
    });
    for (const repository of host
      .repositoryNames()
      .filter((name) => this.handlesRepository(name))) {
      const stored = await host.getMeta(this.cursorKey(repository));
      this.cursors.set(repository, stored === undefined ? 0 : Number(stored));
      this.requestCatchUp(repository);
    }
    const pending = await host.getPendingEvents();
    if (generation !== this.generation) return;
    const early = this.early ?? [];
    this.early = undefined;
    this.queue.add([
      ...pending.filter((event) => this.handlesRepository(event.repository)),
      ...early,
    ]);
  }

  /** A push the server did not take; see `PushQueue.rejected` for what happens to it. */
  private onPushError(code: string): void {
    if (this.queue.rejected(code) === 'resume_later')
      this.after(backoffDelay(0, this.options) + this.options.reconnectDelay / 2, () =>
        this.queue.resume(),
      );
  }

  private requestCatchUp(repository: string): void {
    if (this.catchingUp.has(repository)) return;
    this.catchingUp.add(repository);
    this.connection?.send({
      type: 'request_events',
      repository,
      afterSequence: this.cursors.get(repository) ?? 0,
    });
  }

  private async onAck(ack: AckMessage): Promise<void> {
    const host = this.host!;
    const rejected = ack.rejected ?? [];
    if (ack.eventIds.length > 0) await host.markSynced(ack.eventIds);
    if (rejected.length > 0) {
      await host.markFailed(rejected.map((entry) => entry.eventId));
      this.activity.emit({ type: 'rejected', rejected });
    }
    this.queue.acknowledged([...ack.eventIds, ...rejected.map((entry) => entry.eventId)]);
    if (ack.eventIds.length > 0)
      this.activity.emit({ type: 'acknowledged', eventIds: ack.eventIds });
  }

  /**
   * Applies a page or a live broadcast. The cursor only moves over an unbroken run of
   * sequences, so it never skips an event: a live broadcast that arrives ahead of a gap is
   * applied (idempotently) and a catch-up from the cursor fills the gap.
   */
  private async onEvents(message: EventsMessage): Promise<void> {
    const { repository } = message;
    if (!this.handlesRepository(repository) || !Array.isArray(message.events)) return;
    const catchUpPage = message.hasMore !== undefined;
    const { cursor, gap } = advanceCursor(
      this.cursors.get(repository) ?? 0,
      message.events.map((event: SyncEvent) => event.serverSequence),
      { catchUp: catchUpPage, lastSequence: message.lastSequence },
    );
    const moved = cursor !== (this.cursors.get(repository) ?? 0);
    const result = await this.host!.applyRemoteEvents(
      repository,
      message.events,
      moved ? { key: this.cursorKey(repository), value: String(cursor) } : undefined,
    );
    this.cursors.set(repository, cursor);
    if (result.invalid.length > 0)
      this.logger.warn({ repository, invalid: result.invalid }, 'server sent malformed events');
    this.receipts.add(repository, message.events.length, cursor, catchUpPage);
    if (gap) this.requestCatchUp(repository);
  }

  private sendBatch(repository: string, events: StoredEvent[]): void {
    this.connection?.send({
      type: 'push_events_batch',
      repository,
      events: events.map(toWireEvent),
    });
  }

  private async onClosed(info: CloseInfo, generation: number): Promise<void> {
    if (generation !== this.generation) return;
    this.teardown();
    if (!this.running) return;
    if (info.code === CLOSE_CODES.authFailed) {
      const failure = this.lastAuthFailure ?? {
        code: 'expired',
        message: info.reason || 'credentials expired',
      };
      const fresh = this.onAuthFailed ? await this.onAuthFailed(failure) : undefined;
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

  private scheduleReconnect(): void {
    if (!this.running) return;
    this.state.set('reconnecting');
    const delay = backoffDelay(this.attempt++, this.options);
    this.after(delay, () => {
      if (this.running) void this.connect();
    });
  }

  /** Drops the current connection and everything tied to it; pending events stay in storage. */
  private teardown(code?: number, reason?: string): void {
    this.generation++;
    this.authenticated = false;
    this.heartbeat.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
    this.receipts.clear();
    this.early = undefined;
    this.catchingUp.clear();
    this.caughtUp.clear();
    const connection = this.connection;
    this.connection = undefined;
    if (connection?.isOpen && code !== undefined) connection.close(code, reason);
    if (this.running) this.state.set('reconnecting');
  }

  private after(delay: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delay);
    this.timers.add(timer);
  }

  private sendIfOpen(message: ClientMessage): void {
    if (this.connection?.isOpen) this.connection.send(message);
  }

  private cursorKey(repository: string): string {
    return `${this.name}:cursor:${this.options.websocketUrl}:${repository}`;
  }
}

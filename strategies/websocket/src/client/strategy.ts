import type { StoredEvent } from '@local-first/core';
import {
  CLOSE_CODES,
  type CloseInfo,
  PROTOCOL_VERSION,
  type ServerMessage,
  type SyncHost,
  SyncStrategyBase,
  type TransportConnection,
} from '@local-first/core/adapter';
import { LogFollower } from './catch-up.js';
import { type BatchLimits, FrameLimits } from './frame-size.js';
import { answersPing } from './heartbeat.js';
import { Inbound } from './inbound.js';
import { Link } from './link.js';
import {
  type AuthFailure,
  backoffDelay,
  DEFAULT_WHEN_SYNCED_TIMEOUT_MS,
  DEFAULTS,
  nodeUrls,
  type WebSocketSyncStrategyOptions,
} from './options.js';
import { Pusher } from './pusher.js';

type Resolved = Required<
  Omit<
    WebSocketSyncStrategyOptions,
    | 'repositoryNames'
    | 'repositories'
    | 'authToken'
    | 'headers'
    | 'namespace'
    | 'onAuthFailed'
    | 'logger'
  >
>;

/**
 * Real-time sync over a persistent socket: pushes each local change at once (changes made
 * while pushes are in flight leave together, in batches cut to the server's limits), applies
 * the server's live events, and on every (re)connect catches up from its stored cursor and
 * re-sends every pending event from storage, deletes included, until acknowledged.
 *
 * Its states and transitions are written down in the package's SPEC.md. Everything that
 * belongs to one connection lives in a `Link` that is dropped whole when the connection ends.
 */
export class WebSocketSyncStrategy extends SyncStrategyBase {
  override readonly name: string;
  private readonly options: Resolved;
  /** Running, but the client's namespace has no credentials here: waiting for some. */
  private awaiting: string | undefined;
  private link: Link | undefined;
  private running = false;
  private disposed = false;
  private attempt = 0;
  /** Bumped by every connect and stop, so an open that resolves late knows it is stale. */
  private opening = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private lastAuthFailure: Omit<AuthFailure, 'namespace'> | undefined;
  private readonly limits: FrameLimits;
  /** The nodes to connect to, and the one the next attempt uses. */
  private readonly urls: readonly string[];
  private urlIndex = 0;
  private readonly follower: LogFollower;
  private readonly pusher: Pusher;
  private readonly inbound: Inbound;

  constructor(options: WebSocketSyncStrategyOptions) {
    super(options);
    this.options = {
      ...DEFAULTS,
      random: Math.random,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    } as Resolved;
    this.name = this.options.name;
    this.urls = nodeUrls(options.websocketUrl);
    const { maxFrameBytes, maxBatchEvents } = this.options;
    this.limits = new FrameLimits({ maxFrameBytes, maxBatchEvents });
    this.pusher = new Pusher({
      logger: this.logger,
      reached: (link, repository, lastSequence) =>
        this.follower.acknowledged(link, repository, lastSequence),
      retryDelay: (attempt) => this.retryDelay(attempt),
      onAcknowledged: (eventIds) => this.activity.emit({ type: 'acknowledged', eventIds }),
      onRejected: (rejected) => this.activity.emit({ type: 'rejected', rejected }),
    });
    this.follower = new LogFollower({
      name: this.name,
      logger: this.logger,
      cursorKey: (repository) => this.cursorKey(repository),
      retryDelay: (attempt) => this.retryDelay(attempt),
      onCaughtUp: (repository, lastSequence) =>
        this.activity.emit({ type: 'sync_complete', repository, lastSequence }),
      onReset: (repository, reason) => this.activity.emit({ type: 'reset', repository, reason }),
      onRevoked: (revocation) => this.activity.emit({ type: 'access_revoked', ...revocation }),
    });
    this.inbound = new Inbound({
      follower: this.follower,
      pusher: this.pusher,
      limits: this.limits,
      activity: this.activity,
      logger: this.logger,
      stableConnectionMs: this.options.stableConnectionMs,
      isCurrent: (link) => link === this.link,
      handlesRepository: (name) => this.syncs(name),
      authFailed: (failure) => {
        this.lastAuthFailure = failure;
      },
      connected: () => this.state.set('connected'),
      stable: () => {
        this.attempt = 0;
      },
    });
  }

  /** The limits batches keep now (see `FrameLimits`). */
  get batchLimits(): BatchLimits {
    return this.limits.current;
  }

  /** Refuses, before it is stored, a change whose event alone could never fit in a frame. */
  assertPushable(event: StoredEvent): void {
    if (this.handlesRepository(event.repository)) this.limits.assertFits(event);
  }

  async start(): Promise<void> {
    const host = this.assertStartable(this.disposed);
    if (this.running) return;
    this.credentials.claim(host.namespace);
    this.running = true;
    this.attempt = 0;
    this.state.set('connecting');
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.awaiting = undefined;
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

  onPushToRemote(event: StoredEvent, namespace?: string): void {
    this.onPushManyToRemote([event], namespace);
  }

  /** Changes committed together: queued at once, so they leave in as few batches as fit. */
  onPushManyToRemote(events: readonly StoredEvent[], namespace?: string): void {
    const link = this.link;
    const repository = events[0]?.repository;
    if (!link?.authenticated || repository === undefined || !this.handlesRepository(repository))
      return;
    // Another namespace's change stays pending there, for a connection with its credentials.
    if ((namespace ?? this.host?.namespace) !== link.namespace) return;
    // Until the stored pending events are queued, newer ones wait behind them to keep order.
    if (link.early) for (const event of events) link.early.push(event);
    else link.queue.add(events);
  }

  /**
   * New credentials of `namespace`: the open socket re-authenticates when it belongs to that
   * namespace; a strategy waiting for that namespace's credentials connects.
   */
  protected credentialsChanged(namespace: string): void {
    const link = this.link;
    if (link?.namespace === namespace) this.sendAuth(link);
    else if (!link && this.running && this.awaiting === namespace) {
      this.awaiting = undefined;
      this.state.set('connecting');
      void this.connect();
    }
  }

  /**
   * Resolves `true` once this strategy is connected, has caught up on every repository it
   * syncs, and the server has acknowledged every pending change of those repositories; `false`
   * if that has not happened within `timeoutMs`. Handy for scripts that write and exit.
   */
  override whenSynced(timeoutMs: number = DEFAULT_WHEN_SYNCED_TIMEOUT_MS): Promise<boolean> {
    return super.whenSynced(timeoutMs);
  }

  protected caughtUp(host: SyncHost): boolean {
    const link = this.link;
    return (
      this.state.value === 'connected' &&
      link !== undefined &&
      this.syncedRepositories(host).every(
        (name) => link.caughtUp.has(name) || link.revoked.has(name),
      )
    );
  }

  private async connect(): Promise<void> {
    const opening = ++this.opening;
    const host = this.host!;
    // A connection belongs to one namespace: its credentials, and a host held to it.
    const namespace = host.namespace;
    const credentials = this.credentials.get(namespace);
    if (!credentials) return this.awaitCredentials(namespace);
    const headers = { ...credentials.headers };
    if (credentials.authToken) headers.Authorization = `Bearer ${credentials.authToken}`;
    const url = this.urls[this.urlIndex % this.urls.length]!;
    let connection: TransportConnection;
    try {
      connection = await this.options.transport.open(url, {
        headers,
        timeoutMs: this.options.connectTimeout,
      });
    } catch (error) {
      this.logger.debug({ error, url }, 'connection failed');
      if (opening === this.opening) this.scheduleReconnect();
      return;
    }
    if (opening !== this.opening || !this.running) {
      connection.close(CLOSE_CODES.normal, 'client stopped');
      return;
    }
    const link = new Link(connection, {
      namespace,
      host: host.inNamespace(namespace),
      heartbeatInterval: this.options.heartbeatInterval,
      pongTimeout: this.options.pongTimeout,
      maxBatchesInFlight: this.options.maxBatchesInFlight,
      limits: this.batchLimits,
      sendBatch: (owner, batch) => this.pusher.send(owner, batch),
      refuse: (owner, event, bytes, limit) => this.pusher.refuse(owner, event, bytes, limit),
      onDead: (owner) => this.abandon(owner, { code: 4000, reason: 'no answer to ping' }),
      onFailure: (owner, error) => {
        this.logger.error({ error }, 'handling a server message failed; reconnecting');
        this.abandon(owner, { code: 4000, reason: 'client failure' });
      },
    });
    this.link = link;
    connection.onMessage((raw) => {
      const message = raw as ServerMessage;
      // Only an answer to our ping shows that what we send still arrives (a link can die in
      // one direction), and it counts when it arrives, however long the frames before it take.
      if (answersPing(message)) link.heartbeat.alive();
      // An ack is the server's word on events it holds or refused: it is stored even when the
      // link was given up meanwhile, or a refused write would stay until it is refused again.
      if (message.type === 'ack')
        link.enqueue(() => this.pusher.onAck(link, message), { evenIfClosed: true });
      else link.enqueue(() => this.inbound.handle(link, message));
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

  private awaitCredentials(namespace: string): void {
    this.awaiting = namespace;
    this.state.set('failed');
    this.logger.warn({ namespace }, 'no credentials for this namespace: not connecting');
    this.activity.emit({ type: 'credentials_missing', namespace });
  }

  private sendAuth(link: Link): void {
    const { authToken, headers } = this.credentials.get(link.namespace) ?? {};
    link.send({
      type: 'auth',
      protocol: PROTOCOL_VERSION,
      clientId: link.host.clientId,
      requestId: link.authRequestId,
      ...(authToken ? { token: authToken } : {}),
      ...(headers ? { headers: { ...headers } } : {}),
    });
  }

  /** Backoff of a retried request: like reconnects, but never 0 so a retry is never a spin. */
  private retryDelay(attempt: number): number {
    return Math.max(1, backoffDelay(attempt, this.options));
  }

  /**
   * The link is gone (closed, dead, or not to be trusted): drop it whole and, unless stopped,
   * reconnect. Runs at once for a dead link: a close handshake over it may never complete.
   */
  private async abandon(link: Link, info: CloseInfo): Promise<void> {
    if (link !== this.link) return;
    this.dropLink(info.code, info.reason);
    if (!this.running) return;
    // Our frames kept the limits we knew, so the real one is lower.
    if (info.code === CLOSE_CODES.tooLarge) this.limits.refusedFrame();
    if (info.code === CLOSE_CODES.authFailed) {
      const failure = {
        ...(this.lastAuthFailure ?? {
          code: 'expired',
          message: info.reason || 'credentials expired',
        }),
        namespace: link.namespace,
      };
      const fresh = this.onAuthFailed ? await this.onAuthFailed(failure) : undefined;
      if (!this.running || this.link) return;
      if (!fresh) {
        this.running = false;
        this.state.set('failed');
        this.logger.warn({ code: failure.code }, 'credentials refused; sync stopped');
        return;
      }
      this.credentials.set(link.namespace, fresh);
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
    // The node that failed may be down: the next attempt goes to the next one.
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    const delay = backoffDelay(this.attempt++, this.options);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running) void this.connect();
    }, delay);
  }

  private cursorKey(repository: string): string {
    return `${this.name}:cursor:${this.urls[0]}:${repository}`;
  }
}

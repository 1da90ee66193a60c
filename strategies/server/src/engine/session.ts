import {
  type AuthFailedMessage,
  type AuthMessage,
  type AuthSuccessMessage,
  CLOSE_CODES,
  type ClientMessage,
  type EventsMessage,
  type IncomingConnectionInfo,
  PROTOCOL_VERSION,
  type ProtocolErrorCode,
  type RequestAllEventsMessage,
  type ServerMessage,
  type TransportConnection,
} from '@local-first/core/adapter';
import type { RepositoryAccess } from './access.js';
import { type AuthenticatedUser, bearerToken, refusalOf } from './auth.js';
import { type GuardedOutput, OutputGuard } from './backpressure.js';
import { type CatchUpHost, streamEvents } from './catch-up.js';
import { Confirmations } from './confirmations.js';
import type { SyncEngine } from './engine.js';
import { errorMessage, parseClientMessage, requestContextOf } from './messages.js';
import { closeCodeName } from './observer.js';
import { TokenBucket } from './rate-limit.js';
import { SessionAccess } from './session-access.js';

/** setTimeout cannot wait longer than this; later expiries are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One connection's run of the protocol. Messages are handled strictly in arrival order: each
 * waits for the one before it, so a `request_events` after a push sees that push committed.
 * `ping` and `events_received` are taken at once instead (after the rate limit).
 */
export class Session implements CatchUpHost, GuardedOutput {
  user: AuthenticatedUser | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly bucket: TokenBucket;
  private violations = 0;
  private violationWindowStart: number;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private awaitingPong = false;
  /** What this connection's user may read and write, and what the client has a copy of. */
  private readonly access: SessionAccess;
  readonly confirmations = new Confirmations();
  private readonly output: OutputGuard;
  private closed = false;

  constructor(
    readonly engine: SyncEngine,
    private readonly connection: TransportConnection,
    private readonly info: IncomingConnectionInfo,
  ) {
    const { limits } = engine;
    this.bucket = new TokenBucket(
      limits.rateLimitCapacity,
      limits.rateLimitRefillPerSecond,
      engine.now,
    );
    this.violationWindowStart = engine.now();
    this.output = new OutputGuard(this, limits, engine.now);
    this.access = new SessionAccess(engine, () => this.user);
    this.authTimer = setTimeout(() => {
      if (!this.user) this.close(CLOSE_CODES.authTimeout, 'no auth within the auth timeout');
    }, limits.authTimeoutMs);
    connection.onMessage((message) => this.receive(message));
    connection.onInvalidMessage((problem) =>
      this.send({
        type: 'error',
        code: problem.code as ProtocolErrorCode,
        message: problem.message,
      }),
    );
    connection.onClose(() => this.dispose());
    connection.onError((error) =>
      engine.logger.debug({ error: error.message }, 'connection error'),
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a message if the connection is still open. */
  send(message: ServerMessage): void {
    if (this.closed || !this.connection.isOpen) return;
    if (message.type === 'error' || message.type === 'auth_failed')
      this.engine.observe.errorSent(message.type, message.code);
    else if (message.type === 'lagging') this.engine.observe.lagging(message.repository);
    // Only a catch-up page (it has `hasMore`) is measured; live events pass only under the mark.
    const before =
      message.type === 'events' && message.hasMore !== undefined
        ? this.connection.bufferedBytes
        : undefined;
    try {
      this.connection.send(message);
    } catch (error) {
      this.engine.logger.debug({ error }, 'send failed on a closing connection');
    }
    this.output.sent(before === undefined ? 0 : (this.connection.bufferedBytes ?? 0) - before);
  }

  /**
   * Sends a live broadcast unless this connection's output is past its high-water mark; then
   * it is skipped and told `lagging` once drained. Returns whether it went out.
   */
  sendLive(message: EventsMessage): boolean {
    if (this.closed || !this.connection.isOpen) return false;
    if (!this.output.admitLive(message.repository)) return false;
    this.send(message);
    return true;
  }

  /** What the transport holds unsent for this connection (see `OutputGuard`). */
  buffered(): number | undefined {
    return this.connection.bufferedBytes;
  }

  /** Tells the client it missed live events of a repository (see `OutputGuard`). */
  sendLagging(repository: string): void {
    this.send({ type: 'lagging', repository });
  }

  /** Closes a connection that fell too far behind, with 4413 (see `OutputGuard`). */
  cut(reason: string): void {
    this.close(CLOSE_CODES.tooFarBehind, reason);
  }

  /** Resolves once this connection can take more output (see `OutputGuard.whenWritable`). */
  whenWritable(): Promise<void> {
    return this.output.whenWritable();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.engine.observe.connectionCut(closeCodeName(code), code);
    this.connection.close(code, reason);
    this.dispose();
  }

  /** Resolves when every message received so far has been handled. */
  drain(): Promise<void> {
    return this.queue;
  }

  /** What this session's user may do with a repository as the client names it (cached). */
  accessTo(repository: string): Promise<RepositoryAccess> {
    return this.access.accessTo(repository);
  }

  /** Whether this session's user reads a stored repository (for broadcasts of any node). */
  mayRead(stored: string): Promise<boolean> {
    return this.access.mayRead(stored);
  }

  /** `mayRead`'s answer when it is already known, else `undefined` (ask `mayRead`). */
  mayReadNow(stored: string): boolean | undefined {
    return this.access.mayReadNow(stored);
  }

  /**
   * The rules changed: answers are asked anew from now on, and each repository this
   * connection has a copy of and may no longer read is revoked (after the messages before).
   */
  accessChanged(): void {
    if (!this.user || this.closed) return;
    this.access.forget();
    this.queue = this.queue
      .then(() => this.revokeLost())
      .catch((error: unknown) =>
        this.engine.logger.error({ error, userId: this.user?.userId }, 'access check failed'),
      );
  }

  /** Sends `access_revoked` for each repository the client has that it may no longer read. */
  private async revokeLost(): Promise<void> {
    for (const repository of await this.access.lost(() => this.closed)) {
      this.engine.logger.info(
        { userId: this.user?.userId, repository },
        'read access revoked on an open connection',
      );
      this.send({ type: 'access_revoked', repository });
    }
  }

  /** Adds the repositories this connection reads, or asked to read and awaits the answer for. */
  addReadRepositories(names: Set<string>): void {
    this.access.addReadRepositories(names);
  }

  /** Called on each ping tick: a connection silent since the last ping is closed. */
  checkLiveness(): void {
    if (this.awaitingPong) {
      this.close(CLOSE_CODES.goingAway, 'no answer to ping');
      return;
    }
    this.awaitingPong = true;
    this.send({ type: 'ping' });
  }

  private dispose(): void {
    this.closed = true;
    this.confirmations.releaseAll();
    this.output.dispose();
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
  }

  private receive(raw: unknown): void {
    this.awaitingPong = false;
    if (this.closed) return;
    if (!this.bucket.take()) {
      this.rateLimited(raw);
      return;
    }
    const type = (raw as { type?: unknown } | null)?.type;
    // A ping asks only whether the link is alive: answered behind a long catch-up or a big
    // push, it would come too late, and the client would drop a link that works.
    if (type === 'ping' && parseClientMessage(raw).ok) {
      this.send({ type: 'pong' });
      return;
    }
    // A confirmation has no answer and only moves the client's position, so it is taken at
    // once: a catch-up in progress (ahead of it in the queue) may be waiting for it.
    if (this.user && type === 'events_received') {
      const parsed = parseClientMessage(raw);
      if (parsed.ok && parsed.message.type === 'events_received') {
        const { repository, count, lastSequence } = parsed.message;
        this.confirmations.confirm(repository, count, lastSequence);
        return;
      }
    }
    const arrived = performance.now();
    this.queue = this.queue
      .then(() => this.handle(raw, arrived))
      .catch((error: unknown) => this.internalError(raw, error));
  }

  private rateLimited(raw: unknown): void {
    const now = this.engine.now();
    if (now - this.violationWindowStart > this.engine.limits.rateLimitWindowMs) {
      this.violationWindowStart = now;
      this.violations = 0;
    }
    this.violations += 1;
    if (this.violations > this.engine.limits.rateLimitMaxViolations) {
      this.close(CLOSE_CODES.rateLimited, 'rate limit exceeded');
      return;
    }
    // The type and requestId of the dropped message tell a client which request to send again.
    this.send(
      errorMessage('rate_limited', 'too many messages; slow down', {
        ...requestContextOf(raw),
        retryAfterMs: this.bucket.msUntilToken(),
      }),
    );
  }

  private internalError(raw: unknown, error: unknown): void {
    const context = requestContextOf(raw);
    this.engine.logger.error({ error, ...context, userId: this.user?.userId }, 'request failed');
    this.send(
      errorMessage('internal', 'the server could not handle this request', {
        ...context,
        retryAfterMs: this.engine.limits.internalRetryAfterMs,
      }),
    );
  }

  private async handle(raw: unknown, arrived: number): Promise<void> {
    if (this.closed) return;
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) return this.send(errorMessage(parsed.code, parsed.message, parsed));
    const message = parsed.message;
    if (message.type === 'auth') return this.authenticate(message);
    if (!this.user) {
      if (message.type === 'pong') return;
      return this.send(errorMessage('not_authenticated', 'send auth first', contextOf(message)));
    }
    return this.handleAuthenticated(message, this.user, arrived);
  }

  private async handleAuthenticated(
    message: ClientMessage,
    user: AuthenticatedUser,
    arrived: number,
  ): Promise<void> {
    switch (message.type) {
      case 'pong':
        return;
      case 'push_event':
      case 'push_events_batch': {
        const events = message.type === 'push_event' ? [message.event] : message.events;
        const { maxBatchEvents } = this.engine.limits;
        if (events.length > maxBatchEvents) {
          return this.send(
            errorMessage(
              'too_large',
              `at most ${maxBatchEvents} events per batch`,
              contextOf(message),
            ),
          );
        }
        // Asked anew for every push: a write permission taken away applies to the next one.
        const access = await this.engine.access(user, message.repository);
        this.access.grant(message.repository, access);
        const { ack } = await this.engine.push(user, message.repository, events, this, access);
        if (message.requestId !== undefined) ack.requestId = message.requestId;
        this.send(ack);
        this.engine.observe.acknowledged('socket', (performance.now() - arrived) / 1000);
        return;
      }
      case 'request_events': {
        const access = await this.accessTo(message.repository);
        if (!access.read) return this.forbidden(message, access);
        this.access.grant(message.repository, access);
        return streamEvents(this, message, access.stored);
      }
      case 'request_all_events':
        return this.streamAll(message);
      case 'events_received':
        this.engine.logger.debug(
          {
            userId: user.userId,
            repository: message.repository,
            count: message.count,
            lastSequence: message.lastSequence,
          },
          'client confirmed events',
        );
        return;
    }
  }

  /**
   * `request_all_events`: one repository, or every stored repository this user reads, each
   * under the name the client knows it by; then one final `sync_complete`.
   */
  private async streamAll(message: RequestAllEventsMessage): Promise<void> {
    const { requestId } = message;
    const tag = requestId !== undefined ? { requestId } : {};
    if (message.repository !== undefined) {
      const access = await this.accessTo(message.repository);
      if (!access.read)
        return this.forbidden({ ...message, repository: message.repository }, access);
      this.access.grant(message.repository, access);
      await streamEvents(
        this,
        { type: 'request_events', repository: message.repository, ...tag },
        access.stored,
      );
    } else {
      const policy = this.engine.accessPolicy;
      for (const stored of await this.engine.store.listRepositories()) {
        if (policy.neverReads(this.user!, stored)) continue;
        const repository = policy.nameOf(stored);
        const access = await this.accessTo(repository);
        if (!access.read || access.stored !== stored) continue;
        this.access.grant(repository, access);
        await streamEvents(this, { type: 'request_events', repository, ...tag }, stored);
      }
    }
    this.send({ type: 'sync_complete', ...tag });
  }

  private forbidden(
    message: ClientMessage & { repository: string },
    access: RepositoryAccess,
  ): void {
    const text = access.reason ?? `no read access to "${message.repository}"`;
    this.send(errorMessage('forbidden', text, contextOf(message)));
  }

  private async authenticate(message: AuthMessage): Promise<void> {
    const headers = { ...this.info.headers };
    for (const [name, value] of Object.entries(message.headers ?? {}))
      headers[name.toLowerCase()] = value;
    const token = message.token ?? bearerToken(headers);
    const tag = message.requestId !== undefined ? { requestId: message.requestId } : {};
    // Before the authenticator runs: a store that cannot name itself is an `internal` error to
    // retry, not credentials to refuse.
    const serverId = await this.engine.serverId();
    try {
      const user = await this.engine.authenticator.authenticate({ token, headers });
      this.user = user;
      this.access.forget();
      clearTimeout(this.authTimer);
      this.authTimer = undefined;
      this.armExpiry(user.expiresAt);
      const { maxFrameBytes, maxBatchEvents, maxPageEvents } = this.engine.limits;
      const success: AuthSuccessMessage = {
        type: 'auth_success',
        protocol: PROTOCOL_VERSION,
        serverTime: new Date(this.engine.now()).toISOString(),
        userId: user.userId,
        ...(user.expiresAt ? { expiresAt: user.expiresAt.toISOString() } : {}),
        limits: { maxFrameBytes, maxBatchEvents, maxPageEvents },
        ...(serverId !== undefined ? { serverId } : {}),
        ...tag,
      };
      this.send(success);
    } catch (error) {
      const refusal = refusalOf(error);
      const code = refusal?.reason ?? 'auth_error';
      const text = refusal?.message ?? 'authentication failed';
      if (!refusal) this.engine.logger.error({ error }, 'authenticator failed');
      this.user = undefined;
      const failed: AuthFailedMessage = { type: 'auth_failed', code, message: text, ...tag };
      this.send(failed);
      this.close(CLOSE_CODES.authFailed, code);
    }
    // Other claims (or another user) may take away what the client has a copy of.
    if (this.user) await this.revokeLost();
  }

  private armExpiry(expiresAt: Date | undefined): void {
    clearTimeout(this.expiryTimer);
    if (!expiresAt) return;
    const delay = expiresAt.getTime() - this.engine.now();
    if (delay <= 0) {
      this.close(CLOSE_CODES.authFailed, 'credentials expired');
      return;
    }
    this.expiryTimer = setTimeout(
      () =>
        delay > MAX_TIMER_MS
          ? this.armExpiry(expiresAt)
          : this.close(CLOSE_CODES.authFailed, 'credentials expired'),
      Math.min(delay, MAX_TIMER_MS),
    );
  }
}

/** What an error answer to a parsed message names of it. */
function contextOf(message: ClientMessage & { repository?: string; requestId?: string }) {
  return {
    requestType: message.type,
    ...(message.requestId !== undefined ? { requestId: message.requestId } : {}),
    ...(message.repository !== undefined ? { repository: message.repository } : {}),
  };
}

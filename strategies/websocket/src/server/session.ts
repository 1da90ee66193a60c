import {
  type AuthMessage,
  CLOSE_CODES,
  type ClientMessage,
  type IncomingConnectionInfo,
  PROTOCOL_VERSION,
  type ProtocolErrorCode,
  type RequestEventsMessage,
  type ServerMessage,
  type TransportConnection,
} from '@local-first/core';
import { type AuthenticatedUser, AuthenticationError, bearerToken } from './auth.js';
import { Confirmations } from './confirmations.js';
import type { SyncEngine } from './engine.js';
import { parseClientMessage } from './messages.js';
import { TokenBucket } from './rate-limit.js';

/** setTimeout cannot wait longer than this; later expiries are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One connection's run of the protocol. Messages are handled strictly in arrival order: each
 * waits for the one before it, so a `request_events` after a push sees that push committed.
 */
export class Session {
  user: AuthenticatedUser | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly bucket: TokenBucket;
  private violations = 0;
  private violationWindowStart: number;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private awaitingPong = false;
  private readonly readable = new Map<string, Promise<boolean>>();
  /** The answers of `readable` that have arrived, for the broadcast's synchronous path. */
  private readonly readableKnown = new Map<string, boolean>();
  private readonly confirmations = new Confirmations();
  private closed = false;

  constructor(
    private readonly engine: SyncEngine,
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

  /** Sends a message if the connection is still open. */
  send(message: ServerMessage): void {
    if (this.closed || !this.connection.isOpen) return;
    try {
      this.connection.send(message);
    } catch (error) {
      this.engine.logger.debug({ error }, 'send failed on a closing connection');
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.connection.close(code, reason);
    this.dispose();
  }

  /** Resolves when every message received so far has been handled. */
  drain(): Promise<void> {
    return this.queue;
  }

  /** Whether this session's user may read a repository; cached until re-authentication. */
  mayRead(repository: string): Promise<boolean> {
    let answer = this.readable.get(repository);
    if (!answer) {
      const asked = Promise.resolve(this.engine.authorizer.canRead(this.user!, repository));
      this.readable.set(repository, asked);
      asked.then(
        (allowed) => {
          // Only if the cache was not cleared (re-authentication) meanwhile.
          if (this.readable.get(repository) === asked) this.readableKnown.set(repository, allowed);
        },
        () => undefined,
      );
      answer = asked;
    }
    return answer;
  }

  /** `mayRead`'s answer when it is already known, else `undefined` (ask `mayRead`). */
  mayReadNow(repository: string): boolean | undefined {
    return this.readableKnown.get(repository);
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
    // A confirmation has no answer and only moves the client's position, so it is taken at
    // once: a catch-up in progress (ahead of it in the queue) may be waiting for it.
    if (this.user && (raw as { type?: unknown } | null)?.type === 'events_received') {
      const parsed = parseClientMessage(raw);
      if (parsed.ok && parsed.message.type === 'events_received') {
        const { repository, count, lastSequence } = parsed.message;
        this.confirmations.confirm(repository, count, lastSequence);
        return;
      }
    }
    this.queue = this.queue
      .then(() => this.handle(raw))
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
    // The type of the dropped message tells a client which request to send again.
    const requestType = requestTypeOf(raw);
    this.send({
      type: 'error',
      code: 'rate_limited',
      message: 'too many messages; slow down',
      ...(requestType ? { requestType } : {}),
    });
  }

  private internalError(raw: unknown, error: unknown): void {
    const requestType = requestTypeOf(raw);
    this.engine.logger.error({ error, requestType, userId: this.user?.userId }, 'request failed');
    this.send({
      type: 'error',
      code: 'internal',
      message: 'the server could not handle this request',
      ...(requestType ? { requestType } : {}),
    });
  }

  private async handle(raw: unknown): Promise<void> {
    if (this.closed) return;
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      this.send({
        type: 'error',
        code: parsed.code,
        message: parsed.message,
        ...(parsed.requestType ? { requestType: parsed.requestType } : {}),
      });
      return;
    }
    const message = parsed.message;
    if (message.type === 'ping') return this.send({ type: 'pong' });
    if (message.type === 'auth') return this.authenticate(message);
    if (!this.user) {
      if (message.type === 'pong') return;
      return this.send({
        type: 'error',
        code: 'not_authenticated',
        message: 'send auth first',
        requestType: message.type,
      });
    }
    return this.handleAuthenticated(message, this.user);
  }

  private async handleAuthenticated(
    message: ClientMessage,
    user: AuthenticatedUser,
  ): Promise<void> {
    switch (message.type) {
      case 'pong':
        return;
      case 'push_event':
      case 'push_events_batch': {
        const events = message.type === 'push_event' ? [message.event] : message.events;
        if (events.length > this.engine.limits.maxBatchEvents) {
          return this.send({
            type: 'error',
            code: 'too_large',
            message: `at most ${this.engine.limits.maxBatchEvents} events per batch`,
            requestType: message.type,
          });
        }
        const { ack } = await this.engine.push(user, message.repository, events, this);
        return this.send(ack);
      }
      case 'request_events':
        if (!(await this.mayRead(message.repository)))
          return this.forbidden(message.type, message.repository);
        await this.stream(message);
        return;
      case 'request_all_events': {
        const names = message.repository
          ? [message.repository]
          : await this.engine.store.listRepositories();
        for (const repository of names) {
          if (await this.mayRead(repository)) {
            await this.stream({ type: 'request_events', repository });
          } else if (message.repository) {
            return this.forbidden(message.type, repository);
          }
        }
        return this.send({ type: 'sync_complete' });
      }
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

  /** Sends a repository's events page by page, then `sync_complete`. */
  private async stream(request: RequestEventsMessage): Promise<void> {
    const { store, limits } = this.engine;
    const limit = Math.min(request.limit ?? limits.maxPageEvents, limits.maxPageEvents);
    let page =
      request.afterSequence === undefined && request.since !== undefined
        ? await store.readSince(request.repository, new Date(request.since).toISOString(), limit)
        : await store.readAfter(request.repository, request.afterSequence ?? 0, limit);
    // Pages in flight: each is awaited once `catchUpWindowPages` newer ones have gone out.
    const sent: { sequence: number; count: number }[] = [];
    const countBase = this.confirmations.countOf(request.repository);
    let total = 0;
    for (;;) {
      if (this.closed) return;
      if (page.events.length > 0) {
        const window = limits.catchUpWindowPages;
        if (window > 0 && this.confirmations.active && sent.length >= window) {
          const target = sent[sent.length - window]!;
          await this.confirmations.waitFor(
            request.repository,
            { ...target, countBase },
            limits.catchUpConfirmTimeoutMs,
          );
          if (this.closed) return;
        }
        this.send({
          type: 'events',
          repository: request.repository,
          events: page.events,
          hasMore: page.hasMore,
          lastSequence: page.lastSequence,
        });
        total += page.events.length;
        sent.push({ sequence: page.lastSequence, count: total });
      }
      if (!page.hasMore) break;
      // Yield to the event loop between pages: other connections get their turn, and this
      // client's confirmations are read while its stream is still going.
      await new Promise<void>((resolve) => setImmediate(resolve));
      page = await store.readAfter(request.repository, page.lastSequence, limit);
    }
    this.send({
      type: 'sync_complete',
      repository: request.repository,
      lastSequence: page.lastSequence,
    });
  }

  private forbidden(requestType: string, repository: string): void {
    this.send({
      type: 'error',
      code: 'forbidden',
      message: `no read access to "${repository}"`,
      requestType,
    });
  }

  private async authenticate(message: AuthMessage): Promise<void> {
    const headers = { ...this.info.headers };
    for (const [name, value] of Object.entries(message.headers ?? {}))
      headers[name.toLowerCase()] = value;
    const token = message.token ?? bearerToken(headers);
    try {
      const user = await this.engine.authenticator.authenticate({ token, headers });
      this.user = user;
      this.readable.clear();
      this.readableKnown.clear();
      clearTimeout(this.authTimer);
      this.armExpiry(user.expiresAt);
      this.send({
        type: 'auth_success',
        protocol: PROTOCOL_VERSION,
        serverTime: new Date(this.engine.now()).toISOString(),
        userId: user.userId,
        ...(user.expiresAt ? { expiresAt: user.expiresAt.toISOString() } : {}),
      });
    } catch (error) {
      const code = error instanceof AuthenticationError ? error.code : 'auth_error';
      const text = error instanceof AuthenticationError ? error.message : 'authentication failed';
      if (!(error instanceof AuthenticationError))
        this.engine.logger.error({ error }, 'authenticator failed');
      this.user = undefined;
      this.send({ type: 'auth_failed', code, message: text });
      this.close(CLOSE_CODES.authFailed, code);
    }
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

/** The `type` of a raw message, when it has a short string one. */
function requestTypeOf(raw: unknown): string | undefined {
  const type = (raw as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type.length <= 64 ? type : undefined;
}

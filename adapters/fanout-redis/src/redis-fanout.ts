import {
  consoleLogger,
  ERROR_CODES,
  isLocalFirstError,
  LocalFirstError,
  type Logger,
  type Unsubscribe,
  uuidv7,
} from '@local-first/core';
import {
  Emitter,
  type Fanout,
  type FanoutAnnouncement,
  type FanoutMissCause,
  fullJitterBackoff,
} from '@local-first/core/adapter';
import type { Redis, RedisOptions } from 'ioredis';
import { decodeMessage, encodeMessage } from './message.js';

/** The pub/sub channel of a deployment when none is given. */
export const DEFAULT_REDIS_FANOUT_CHANNEL = 'local_first_fanout';
/** `CLIENT SETNAME` of the subscribing connection when none is given. */
export const DEFAULT_REDIS_FANOUT_CONNECTION_NAME = 'local-first-fanout';
/** First pause before subscribing again, in milliseconds. */
export const DEFAULT_REDIS_FANOUT_RECONNECT_DELAY_MS = 250;
/** Longest pause between two attempts, in milliseconds. */
export const DEFAULT_REDIS_FANOUT_MAX_RECONNECT_DELAY_MS = 10_000;
/** How often both connections are pinged, in milliseconds. */
export const DEFAULT_REDIS_FANOUT_HEALTH_CHECK_MS = 30_000;
/** How long connecting and subscribing may take, in milliseconds. */
export const DEFAULT_REDIS_FANOUT_CONNECT_TIMEOUT_MS = 10_000;

const MAX_CHANNEL_LENGTH = 256;
const MAX_NODE_LENGTH = 128;
/** Redis refuses connection names with spaces or newlines; printable ASCII passes. */
const CONNECTION_NAME_PATTERN = /^[!-~]{1,64}$/;
/** TCP keepalive of both connections: a peer that vanished is found by the kernel too. */
const KEEPALIVE_MS = 10_000;
/** Announcements made while the publishing connection is down wait this many reconnects. */
const PUBLISH_RETRIES = 1;
/** Appended to `connectionName` for the publishing connection. */
const PUBLISHER_SUFFIX = ':publish';

/** Options of `RedisFanout`. */
export interface RedisFanoutOptions {
  /** Where both connections go: a `redis://` or `rediss://` (TLS) URL, with password and db. */
  url: string;
  /** The ioredis constructor. Default: imported from `ioredis` by `open()`. */
  Redis?: typeof Redis;
  /**
   * More ioredis settings of both connections (TLS details, username, family). The settings
   * that the fan-out owns (reconnecting, queues, names, timeouts) are its own.
   */
  redisOptions?: RedisOptions;
  /** The channel every node of one deployment shares. Default `DEFAULT_REDIS_FANOUT_CHANNEL`. */
  channel?: string;
  /** This node's id in its messages; its own messages are ignored by it. Default: a new UUID. */
  node?: string;
  /**
   * `CLIENT SETNAME` of the subscribing connection; the publishing one gets `:publish` after it.
   * Default `DEFAULT_REDIS_FANOUT_CONNECTION_NAME`.
   */
  connectionName?: string;
  /** First pause before subscribing again after the connection dropped; doubles up to the max. */
  reconnectDelayMs?: number;
  /** Longest pause between two attempts to subscribe (or publish) again. */
  maxReconnectDelayMs?: number;
  /**
   * Both connections are sent `PING` this often, and dropped when they do not answer within
   * the same time: a link that died silently delivers nothing and raises nothing. 0 turns the
   * check off.
   */
  healthCheckIntervalMs?: number;
  /** How long connecting (and subscribing) may take before the attempt fails; 0: no limit. */
  connectTimeoutMs?: number;
  /** Hears of lost connections and messages that are not ours. Default: `consoleLogger`. */
  logger?: Logger;
}

/**
 * The fan-out of server nodes that share one event store, through Redis pub/sub: each
 * announcement is a `PUBLISH` on one channel, and each node `SUBSCRIBE`s on a dedicated
 * connection of its own. Redis keeps no messages for a subscriber that was gone, so when that
 * connection drops the fan-out subscribes again on a new one, with exponential backoff and full
 * jitter, and then reports `onMissed('reconnect')` once. ioredis's own reconnecting is off for
 * that connection; the publishing one reconnects through ioredis with the same backoff.
 */
export class RedisFanout implements Fanout {
  readonly node: string;
  /** The pub/sub channel this node publishes and subscribes on. */
  readonly channel: string;
  private readonly options: RedisFanoutOptions;
  private readonly logger: Logger;
  private readonly connectionName: string;
  private readonly announcements: Emitter<FanoutAnnouncement>;
  private readonly misses: Emitter<FanoutMissCause>;
  /** Subscribing connections given up on: what they still deliver is dropped. */
  private readonly retired = new WeakSet<Redis>();
  private state: 'new' | 'open' | 'closed' = 'new';
  private opening: Promise<void> | undefined;
  private Redis: typeof Redis | undefined;
  private publisher: Redis | undefined;
  private subscriber: Redis | undefined;
  /** The subscribing connection being set up, for `close()` to end. */
  private joining: Redis | undefined;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private healthTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: RedisFanoutOptions) {
    this.options = options;
    if (!isRedisUrl(options?.url)) {
      throw invalid('url must be a redis:// or rediss:// URL');
    }
    this.channel = options.channel ?? DEFAULT_REDIS_FANOUT_CHANNEL;
    this.node = options.node ?? uuidv7();
    this.connectionName = options.connectionName ?? DEFAULT_REDIS_FANOUT_CONNECTION_NAME;
    if (typeof this.channel !== 'string' || this.channel.length === 0) {
      throw invalid('channel must be a non-empty string');
    }
    if (this.channel.length > MAX_CHANNEL_LENGTH) {
      throw invalid(`channel must have at most ${MAX_CHANNEL_LENGTH} characters`);
    }
    if (
      typeof this.node !== 'string' ||
      this.node.length === 0 ||
      this.node.length > MAX_NODE_LENGTH
    ) {
      throw invalid(`node must have 1 to ${MAX_NODE_LENGTH} characters`);
    }
    if (!CONNECTION_NAME_PATTERN.test(this.connectionName)) {
      throw invalid(
        `connectionName "${this.connectionName}" must match ${CONNECTION_NAME_PATTERN}`,
      );
    }
    for (const key of [
      'reconnectDelayMs',
      'maxReconnectDelayMs',
      'healthCheckIntervalMs',
      'connectTimeoutMs',
    ] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw invalid(`${key} must be a number, 0 or more`);
      }
    }
    this.logger = options.logger ?? consoleLogger;
    const report = (error: unknown) => this.logger.error({ error }, 'a fan-out listener threw');
    this.announcements = new Emitter(report);
    this.misses = new Emitter(report);
  }

  /** True while the subscribing connection is up (it may be between reconnects). */
  get listening(): boolean {
    return this.subscriber !== undefined;
  }

  open(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(closedError());
    if (this.state === 'open') return Promise.resolve();
    this.opening ??= this.start().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async announce(repository: string, lastSequence: number): Promise<void> {
    const publisher = this.ready();
    if (typeof repository !== 'string') throw invalid('repository must be a string');
    if (!Number.isSafeInteger(lastSequence) || lastSequence < 0) {
      throw invalid('lastSequence must be a whole number, 0 or more');
    }
    const payload = encodeMessage({ repository, lastSequence, node: this.node });
    try {
      await publisher.publish(this.channel, payload);
    } catch (error) {
      if (this.state === 'closed') throw closedError();
      throw new LocalFirstError(ERROR_CODES.connectionFailed, 'Redis did not take a PUBLISH', {
        cause: error,
      });
    }
  }

  onAnnouncement(listener: (announcement: FanoutAnnouncement) => void): Unsubscribe {
    return this.announcements.subscribe(listener);
  }

  onMissed(listener: (cause: FanoutMissCause) => void): Unsubscribe {
    return this.misses.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const opening = this.opening;
    this.state = 'closed';
    this.announcements.clear();
    this.misses.clear();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    // Pending PUBLISHes fail with `closed`; an open() under way gives up.
    const publisher = this.publisher;
    this.publisher = undefined;
    publisher?.disconnect();
    if (this.joining) this.drop(this.joining);
    await opening?.catch(() => undefined);
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) this.drop(subscriber);
  }

  private async start(): Promise<void> {
    this.Redis = this.options.Redis ?? (await import('ioredis')).Redis;
    if (this.isClosed()) throw closedError();
    const publisher = this.connectPublisher();
    this.publisher = publisher;
    try {
      await within(publisher.connect(), this.connectTimeout(), 'connecting to Redis');
      if (this.isClosed()) throw closedError();
      const subscriber = await this.listen();
      if (this.isClosed()) {
        this.drop(subscriber);
        throw closedError();
      }
      this.subscriber = subscriber;
    } catch (error) {
      publisher.disconnect();
      this.publisher = undefined;
      // A timeout or a lost connection is the reason it could not reach Redis, not the answer.
      if (isLocalFirstError(error, ERROR_CODES.closed)) throw error;
      if (this.isClosed()) throw closedError();
      throw new LocalFirstError(ERROR_CODES.connectionFailed, 'the fan-out could not reach Redis', {
        cause: error,
      });
    }
    this.state = 'open';
    const interval = this.options.healthCheckIntervalMs ?? DEFAULT_REDIS_FANOUT_HEALTH_CHECK_MS;
    if (interval > 0) {
      this.healthTimer = setInterval(() => void this.checkHealth(interval), interval);
      this.healthTimer.unref?.();
    }
  }

  /** The publishing connection, not connected yet: ioredis reconnects it with our backoff. */
  private connectPublisher(): Redis {
    const publisher = new this.Redis!(this.options.url, {
      ...this.options.redisOptions,
      lazyConnect: true,
      connectionName: `${this.connectionName}${PUBLISHER_SUFFIX}`,
      connectTimeout: this.connectTimeout(),
      keepAlive: KEEPALIVE_MS,
      // A PUBLISH made while the connection is down waits for it, up to this many attempts.
      enableOfflineQueue: true,
      maxRetriesPerRequest: PUBLISH_RETRIES,
      retryStrategy: (times: number) => this.backoff(times - 1),
    });
    // The first ready is part of open(); a loss and the ready after it are news.
    let ready = false;
    let cut = false;
    publisher.on('ready', () => {
      ready = true;
      if (!cut) return;
      cut = false;
      this.logger.info({ channel: this.channel }, 'the fan-out publishes again');
    });
    publisher.on('close', () => {
      if (ready && this.state === 'open' && this.publisher === publisher) {
        cut = true;
        this.logger.warn({ channel: this.channel }, 'the fan-out lost its publishing connection');
      }
      ready = false;
    });
    publisher.on('error', (error: Error) => {
      if (this.state !== 'closed') this.logger.debug({ error }, 'the publishing connection failed');
    });
    return publisher;
  }

  /** A new connection subscribed to the channel, with its handlers in place. */
  private async listen(): Promise<Redis> {
    const client = new this.Redis!(this.options.url, {
      ...this.options.redisOptions,
      lazyConnect: true,
      connectionName: this.connectionName,
      connectTimeout: this.connectTimeout(),
      keepAlive: KEEPALIVE_MS,
      // The fan-out reconnects itself, to know that it did and to say so exactly once.
      retryStrategy: () => null,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    });
    let down: Error | undefined;
    client.on('error', (error: Error) => {
      down ??= error;
    });
    client.on('close', () => {
      const error =
        down ??
        new LocalFirstError(ERROR_CODES.connectionFailed, 'the subscribing connection closed');
      down ??= error;
      this.lost(client, error);
    });
    client.on('message', (channel: string, payload: string) => {
      if (!this.retired.has(client) && channel === this.channel) this.receive(payload);
    });
    this.joining = client;
    try {
      const subscribing = client.connect().then(() => client.subscribe(this.channel));
      await within(subscribing, this.connectTimeout(), 'subscribing on Redis');
      // Dropped between SUBSCRIBE and here: nothing would ever report it.
      if (down) throw down;
      return client;
    } catch (error) {
      this.drop(client);
      throw error;
    } finally {
      if (this.joining === client) this.joining = undefined;
    }
  }

  private receive(payload: string): void {
    const message = decodeMessage(payload);
    if (!message) {
      this.logger.warn({ channel: this.channel }, 'a message on the fan-out channel is not ours');
      return;
    }
    if (message.node === this.node) return;
    this.announcements.emit(message);
  }

  private lost(client: Redis, error: Error): void {
    if (this.state !== 'open' || this.subscriber !== client) return;
    this.subscriber = undefined;
    this.drop(client);
    this.logger.warn({ error }, 'the fan-out lost its subscribing connection; subscribing again');
    this.scheduleReconnect();
  }

  /** Gives up on a subscribing connection: it delivers nothing more and is disconnected. */
  private drop(client: Redis): void {
    this.retired.add(client);
    client.disconnect();
  }

  /** The pause before attempt `attempt` (from 0): full jitter below an exponential ceiling. */
  private backoff(attempt: number): number {
    const base = this.options.reconnectDelayMs ?? DEFAULT_REDIS_FANOUT_RECONNECT_DELAY_MS;
    const max = this.options.maxReconnectDelayMs ?? DEFAULT_REDIS_FANOUT_MAX_RECONNECT_DELAY_MS;
    return fullJitterBackoff(attempt, base, max);
  }

  private scheduleReconnect(): void {
    const delay = this.backoff(this.attempts);
    this.attempts += 1;
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
    this.reconnectTimer.unref?.();
  }

  private async reconnect(): Promise<void> {
    if (this.state !== 'open') return;
    let client: Redis;
    try {
      client = await this.listen();
    } catch (error) {
      if (this.state !== 'open') return;
      this.logger.warn({ error, attempts: this.attempts }, 'the fan-out could not subscribe again');
      this.scheduleReconnect();
      return;
    }
    if (this.state !== 'open') {
      this.drop(client);
      return;
    }
    this.subscriber = client;
    this.attempts = 0;
    this.logger.info({ channel: this.channel }, 'the fan-out subscribes again');
    this.misses.emit('reconnect');
  }

  private async checkHealth(timeoutMs: number): Promise<void> {
    const subscriber = this.subscriber;
    const publisher = this.publisher;
    await Promise.all([
      subscriber &&
        within(subscriber.ping(), timeoutMs, 'the health check').catch((error: Error) =>
          this.lost(subscriber, error),
        ),
      publisher?.status === 'ready' &&
        within(publisher.ping(), timeoutMs, 'the health check').catch((error: Error) => {
          if (this.state !== 'open' || this.publisher !== publisher) return;
          this.logger.warn({ error }, 'the publishing connection did not answer; reconnecting it');
          // Ends the stream (destroyed if it does not close) and lets ioredis reconnect.
          publisher.disconnect(true);
        }),
    ]);
  }

  /** Read through a call: the state changes while `start()` awaits. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private connectTimeout(): number {
    return this.options.connectTimeoutMs ?? DEFAULT_REDIS_FANOUT_CONNECT_TIMEOUT_MS;
  }

  private ready(): Redis {
    if (this.state === 'open') return this.publisher!;
    if (this.state === 'closed') throw closedError();
    throw new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the fan-out first');
  }
}

/** True for a string that parses as a `redis:` or `rediss:` URL. */
function isRedisUrl(url: unknown): url is string {
  if (typeof url !== 'string') return false;
  try {
    const { protocol } = new URL(url);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
}

/** `work`, or a rejection when it has not settled within `ms` (0: no limit). */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    const message = `no answer from Redis to ${what} in ${ms} ms`;
    const error = new LocalFirstError(ERROR_CODES.timeout, message, { details: { timeoutMs: ms } });
    timer = setTimeout(() => reject(error), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function invalid(message: string): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.invalidArgument, message);
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the fan-out is closed');
}

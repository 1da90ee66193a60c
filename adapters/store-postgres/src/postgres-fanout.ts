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
import type { Client, ClientConfig, Notification, Pool } from 'pg';
import { decodeNotice, encodeNotice } from './notice.js';

/** The `NOTIFY` channel of a deployment when none is given. */
export const DEFAULT_FANOUT_CHANNEL = 'local_first_fanout';
/** `application_name` of the listening connection when none is given. */
export const DEFAULT_FANOUT_APPLICATION_NAME = 'local-first-fanout';
/** First pause before listening again after the connection dropped, when none is given. */
export const DEFAULT_FANOUT_RECONNECT_DELAY_MS = 250;
/** Longest pause between two attempts to listen again, when none is given. */
export const DEFAULT_FANOUT_MAX_RECONNECT_DELAY_MS = 10_000;
/** How often the listening connection is checked with `SELECT 1`, when not given. */
export const DEFAULT_FANOUT_HEALTH_CHECK_MS = 30_000;
/** Connections of the pool that the fan-out makes for its announcements. */
export const DEFAULT_FANOUT_POOL_SIZE = 2;

/** A channel is written into `LISTEN` as an identifier, so only plain lower-case names pass. */
const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const MAX_NODE_LENGTH = 128;

/** Options of `PostgresFanout`. */
export interface PostgresFanoutOptions {
  /** Where both connections go. Default: pg's defaults (the `PG*` environment variables). */
  connectionString?: string;
  /** More settings of both connections (TLS, timeouts). Default: pg's defaults. */
  clientConfig?: ClientConfig;
  /** A pool of the caller's to announce through; the fan-out never ends it. Default: its own. */
  pool?: Pool;
  /** The pg constructors. Default: imported from `pg` by `open()`. */
  pg?: {
    /** The connection class, for the listening connection. */
    Client: typeof Client;
    /** The pool class, for announcing. */
    Pool: typeof Pool;
  };
  /** The channel every node of one deployment shares. Default `DEFAULT_FANOUT_CHANNEL`. */
  channel?: string;
  /** This node's id in its notices; its own notices are ignored by it. Default: a new UUID. */
  node?: string;
  /** `application_name` of the listening connection. Default `DEFAULT_FANOUT_APPLICATION_NAME`. */
  applicationName?: string;
  /** First pause before listening again after the connection dropped; doubles up to the max. */
  reconnectDelayMs?: number;
  /** Longest pause between two attempts to listen again. */
  maxReconnectDelayMs?: number;
  /**
   * The listening connection is asked `SELECT 1` this often, and dropped when it does not
   * answer within the same time: a link that died silently delivers nothing and raises nothing.
   * 0 turns the check off.
   */
  healthCheckIntervalMs?: number;
  /** Hears of lost connections and bad notices. Default: `consoleLogger`. */
  logger?: Logger;
}

/**
 * The fan-out of server nodes that share one PostgreSQL database: each announcement is a
 * `NOTIFY` on one channel (sent through a small pool), and each node `LISTEN`s on a dedicated
 * connection of its own, outside any pool, so a busy pool can never hold its notices back.
 * When that connection drops, the fan-out listens again with exponential backoff and full
 * jitter, then reports `onMissed('reconnect')`: PostgreSQL keeps no notices for a session that
 * was gone. A notice whose repository name would not fit in PostgreSQL's 8000-byte payload
 * goes out without the name, and its receivers hear `onMissed('overflow')`.
 */
export class PostgresFanout implements Fanout {
  readonly node: string;
  /** The channel this node notifies and listens on. */
  readonly channel: string;
  private readonly options: PostgresFanoutOptions;
  private readonly logger: Logger;
  private readonly announcements: Emitter<FanoutAnnouncement>;
  private readonly misses: Emitter<FanoutMissCause>;
  private state: 'new' | 'open' | 'closed' = 'new';
  private opening: Promise<void> | undefined;
  private pg: { Client: typeof Client; Pool: typeof Pool } | undefined;
  private pool: Pool | undefined;
  private ownsPool = false;
  private listener: Client | undefined;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private healthTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: PostgresFanoutOptions = {}) {
    this.options = options;
    this.channel = options.channel ?? DEFAULT_FANOUT_CHANNEL;
    this.node = options.node ?? uuidv7();
    if (!CHANNEL_PATTERN.test(this.channel)) {
      throw invalid(`channel "${this.channel}" must match ${CHANNEL_PATTERN}`);
    }
    if (this.node.length === 0 || this.node.length > MAX_NODE_LENGTH) {
      throw invalid(`node must have 1 to ${MAX_NODE_LENGTH} characters`);
    }
    this.logger = options.logger ?? consoleLogger;
    const report = (error: unknown) => this.logger.error({ error }, 'a fan-out listener threw');
    this.announcements = new Emitter(report);
    this.misses = new Emitter(report);
  }

  /** True while the listening connection is up (it may be between reconnects). */
  get listening(): boolean {
    return this.listener !== undefined;
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
    const pool = this.ready();
    if (typeof repository !== 'string') throw invalid('repository must be a string');
    if (!Number.isSafeInteger(lastSequence) || lastSequence < 0) {
      throw invalid('lastSequence must be a whole number, 0 or more');
    }
    const payload = encodeNotice({ repository, lastSequence, node: this.node });
    try {
      await pool.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
    } catch (error) {
      if (this.state === 'closed') throw closedError();
      throw new LocalFirstError(ERROR_CODES.connectionFailed, 'PostgreSQL did not take a NOTIFY', {
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
    await opening?.catch(() => undefined);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    const pool = this.pool;
    this.pool = undefined;
    if (pool && this.ownsPool) await pool.end().catch(() => undefined);
  }

  private async start(): Promise<void> {
    this.pg = this.options.pg ?? (await import('pg'));
    let pool = this.options.pool;
    if (!pool) {
      pool = new this.pg.Pool({
        max: DEFAULT_FANOUT_POOL_SIZE,
        ...this.options.clientConfig,
        ...this.connectionString(),
      });
      // An idle connection the server drops is an 'error' event: unheard, it ends the process.
      pool.on('error', (error) => {
        if (this.state !== 'closed')
          this.logger.warn({ error }, 'an idle fan-out connection failed');
      });
      this.ownsPool = true;
    }
    this.pool = pool;
    try {
      const listener = await this.listen();
      if (this.state === 'closed') {
        await listener.end().catch(() => undefined);
        throw closedError();
      }
      this.listener = listener;
    } catch (error) {
      if (this.ownsPool) await pool.end().catch(() => undefined);
      this.pool = undefined;
      // A lost listening connection is the reason it could not LISTEN, not the answer.
      if (isLocalFirstError(error, ERROR_CODES.closed)) throw error;
      throw new LocalFirstError(ERROR_CODES.connectionFailed, 'the fan-out could not LISTEN', {
        cause: error,
      });
    }
    this.state = 'open';
    const interval = this.options.healthCheckIntervalMs ?? DEFAULT_FANOUT_HEALTH_CHECK_MS;
    if (interval > 0) {
      this.healthTimer = setInterval(() => void this.checkHealth(interval), interval);
      this.healthTimer.unref?.();
    }
  }

  /** A new connection that listens on the channel, with its handlers in place. */
  private async listen(): Promise<Client> {
    const client = new this.pg!.Client({
      ...this.options.clientConfig,
      ...this.connectionString(),
      application_name: this.options.applicationName ?? DEFAULT_FANOUT_APPLICATION_NAME,
      keepAlive: true,
    });
    let down: Error | undefined;
    const lost = (error: Error) => {
      down ??= error;
      if (this.listener === client) this.lost(client, error);
    };
    client.on('error', lost);
    client.on('end', () =>
      lost(new LocalFirstError(ERROR_CODES.connectionFailed, 'the listening connection ended')),
    );
    client.on('notification', (notice: Notification) => {
      if (this.listener === client && notice.channel === this.channel) this.receive(notice.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      // Dropped between LISTEN and here: nothing would ever report it.
      if (down) throw down;
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private receive(payload: string | undefined): void {
    const notice = decodeNotice(payload);
    if (!notice) {
      this.logger.warn({ channel: this.channel }, 'a notice on the fan-out channel is not ours');
      return;
    }
    const { repository, lastSequence, node } = notice;
    if (node === this.node) return;
    if (repository === undefined) this.misses.emit('overflow');
    else this.announcements.emit({ repository, lastSequence, node });
  }

  private lost(client: Client, error: Error): void {
    if (this.state !== 'open' || this.listener !== client) return;
    this.listener = undefined;
    this.logger.warn({ error }, 'the fan-out lost its listening connection; listening again');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const base = this.options.reconnectDelayMs ?? DEFAULT_FANOUT_RECONNECT_DELAY_MS;
    const max = this.options.maxReconnectDelayMs ?? DEFAULT_FANOUT_MAX_RECONNECT_DELAY_MS;
    const delay = fullJitterBackoff(this.attempts, base, max);
    this.attempts += 1;
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
    this.reconnectTimer.unref?.();
  }

  private async reconnect(): Promise<void> {
    if (this.state !== 'open') return;
    let client: Client;
    try {
      client = await this.listen();
    } catch (error) {
      if (this.state !== 'open') return;
      this.logger.warn({ error, attempts: this.attempts }, 'the fan-out could not listen again');
      this.scheduleReconnect();
      return;
    }
    if (this.state !== 'open') {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.attempts = 0;
    this.logger.info({ channel: this.channel }, 'the fan-out listens again');
    this.misses.emit('reconnect');
  }

  private async checkHealth(timeoutMs: number): Promise<void> {
    const client = this.listener;
    if (!client) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LocalFirstError(ERROR_CODES.timeout, 'no answer to the health check', {
              details: { timeoutMs },
            }),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([client.query('SELECT 1'), silent]);
    } catch (error) {
      this.lost(client, error as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  private connectionString(): { connectionString?: string } {
    const { connectionString } = this.options;
    return connectionString === undefined ? {} : { connectionString };
  }

  private ready(): Pool {
    if (this.state === 'open') return this.pool!;
    if (this.state === 'closed') throw closedError();
    throw new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the fan-out first');
  }
}

function invalid(message: string): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.invalidArgument, message);
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the fan-out is closed');
}

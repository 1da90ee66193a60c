import {
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_CLOCK_DRIFT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PAGE_EVENTS,
} from '@local-first/core/adapter';

/** The `pingIntervalMs` unless given. */
export const DEFAULT_PING_INTERVAL_MS = 30_000;
/** The `rateLimitCapacity` unless given. */
export const DEFAULT_RATE_LIMIT_CAPACITY = 2_000;
/** The `rateLimitRefillPerSecond` unless given. */
export const DEFAULT_RATE_LIMIT_REFILL_PER_SECOND = 1_000;
/** The `rateLimitMaxViolations` unless given. */
export const DEFAULT_RATE_LIMIT_MAX_VIOLATIONS = 200;
/** The `rateLimitWindowMs` unless given. */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 10_000;
/** The `catchUpWindowPages` unless given. */
export const DEFAULT_CATCH_UP_WINDOW_PAGES = 2;
/** The `catchUpConfirmTimeoutMs` unless given. */
export const DEFAULT_CATCH_UP_CONFIRM_TIMEOUT_MS = 10_000;
/** Unsent output per connection past which it stops getting live events (see `SyncLimits`). */
export const DEFAULT_SEND_HIGH_WATER_BYTES = 1024 * 1024;
export const DEFAULT_LAG_TIMEOUT_MS = 60_000;
export const DEFAULT_LAG_CHECK_INTERVAL_MS = 100;
/** The `retryAfterMs` of `internal` errors unless `SyncLimits.internalRetryAfterMs` says otherwise. */
export const DEFAULT_INTERNAL_RETRY_AFTER_MS = 1_000;

/** The limits a server enforces on every connection. */
export interface SyncLimits {
  /** Largest frame accepted, in bytes; larger ones close the socket with 1009. Used by the transports. */
  maxFrameBytes: number;
  /** Most events in one `push_events_batch`; more get `error` `too_large`. */
  maxBatchEvents: number;
  /** Most events in one `events` page. */
  maxPageEvents: number;
  /** A socket must send `auth` within this time or is closed with 4408. */
  authTimeoutMs: number;
  /**
   * The server pings every connection this often; one that has sent nothing since the
   * previous ping is closed. 0 turns liveness checks off.
   */
  pingIntervalMs: number;
  /** Token bucket per connection: burst size. */
  rateLimitCapacity: number;
  /** Token bucket per connection: messages per second refilled. */
  rateLimitRefillPerSecond: number;
  /** A connection refused this many messages within `rateLimitWindowMs` is closed with 4429. */
  rateLimitMaxViolations: number;
  /** The window over which refused messages are counted for `rateLimitMaxViolations`. */
  rateLimitWindowMs: number;
  /**
   * A catch-up sends at most this many pages ahead of what the client has confirmed with
   * `events_received`, so neither side holds a whole stream in memory. Applies to clients that
   * confirm (the strategy does); 0 sends everything at once.
   */
  catchUpWindowPages: number;
  /** A client silent this long after a page gets the next one anyway. */
  catchUpConfirmTimeoutMs: number;
  /**
   * An event whose stamp (`hlc`, else `createdAt`) is more than this ahead of the server clock
   * is rejected with `invalid_event`: it would win every later conflict on its record.
   */
  maxClockDriftMs: number;
  /** The `retryAfterMs` of an `internal` error: failures of the store are mostly brief. */
  internalRetryAfterMs: number;
  /**
   * Slow readers (protocol 1.1): a connection whose unsent output passes this many bytes stops
   * getting live events, and a catch-up to it waits before its next page. Once the output has
   * drained to half of it, the connection is sent `lagging` for each repository it missed and
   * catches up from its cursor. This bounds what the server holds for a peer that does not read.
   * Needs a transport that reports `bufferedBytes` (both of ours do).
   */
  sendHighWaterBytes: number;
  /**
   * A connection held back this long without draining, or whose output passes four times
   * `sendHighWaterBytes` (at least that plus two frames), is closed with 4413.
   */
  lagTimeoutMs: number;
  /** How often a held-back connection's output is looked at. */
  lagCheckIntervalMs: number;
}

/** Every limit's default: the protocol's announced limits and the server's own. */
export const DEFAULT_LIMITS: Readonly<SyncLimits> = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxBatchEvents: DEFAULT_MAX_BATCH_EVENTS,
  maxPageEvents: DEFAULT_MAX_PAGE_EVENTS,
  authTimeoutMs: DEFAULT_AUTH_TIMEOUT_MS,
  pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
  rateLimitCapacity: DEFAULT_RATE_LIMIT_CAPACITY,
  rateLimitRefillPerSecond: DEFAULT_RATE_LIMIT_REFILL_PER_SECOND,
  rateLimitMaxViolations: DEFAULT_RATE_LIMIT_MAX_VIOLATIONS,
  rateLimitWindowMs: DEFAULT_RATE_LIMIT_WINDOW_MS,
  catchUpWindowPages: DEFAULT_CATCH_UP_WINDOW_PAGES,
  catchUpConfirmTimeoutMs: DEFAULT_CATCH_UP_CONFIRM_TIMEOUT_MS,
  maxClockDriftMs: DEFAULT_MAX_CLOCK_DRIFT_MS,
  internalRetryAfterMs: DEFAULT_INTERNAL_RETRY_AFTER_MS,
  sendHighWaterBytes: DEFAULT_SEND_HIGH_WATER_BYTES,
  lagTimeoutMs: DEFAULT_LAG_TIMEOUT_MS,
  lagCheckIntervalMs: DEFAULT_LAG_CHECK_INTERVAL_MS,
};

import {
  type AuthFailure,
  ERROR_CODES,
  LocalFirstError,
  type Logger,
  type SyncCredentials,
  type Transport,
} from '@local-first/core';
import {
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_FRAME_BYTES,
  fullJitterBackoff,
} from '@local-first/core/adapter';

/** The strategy's `name` when none is given. */
export const DEFAULT_STRATEGY_NAME = 'websocket';
/** The `reconnectDelay` when none is given. */
export const DEFAULT_RECONNECT_DELAY_MS = 3_000;
/** The `maxReconnectDelay` when none is given. */
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 60_000;
/** The `stableConnectionMs` when none is given. */
export const DEFAULT_STABLE_CONNECTION_MS = 10_000;
/** The `heartbeatInterval` when none is given. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** The `pongTimeout` when none is given. */
export const DEFAULT_PONG_TIMEOUT_MS = 10_000;
/** The `connectTimeout` when none is given. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The `authTimeout` when none is given. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** How long `whenSynced()` waits when no timeout is given. */
export const DEFAULT_WHEN_SYNCED_TIMEOUT_MS = 10_000;

/**
 * Credentials sent in `auth` (and, where the platform allows, on the upgrade). Each belongs
 * to one namespace of the client (see `WebSocketSyncStrategyOptions.namespace`).
 */
export type Credentials = SyncCredentials;

export type { AuthFailure, CredentialsTarget } from '@local-first/core';

/** Options of {@link WebSocketSyncStrategy}; `websocketUrl` and `transport` are required. */
export interface WebSocketSyncStrategyOptions {
  /**
   * The server's URL, e.g. `ws://localhost:8080/sync` (raw ws) or `http://localhost:8080`
   * (socket.io); or the URLs of several nodes of one deployment (one event log): each
   * reconnect tries the next, so clients move off a node that is down. Cursors are kept under
   * the first URL, so the list may change order or grow without a new catch-up from 0.
   */
  websocketUrl: string | readonly string[];
  /** The client half of a transport (`WsTransport`, `SocketIoTransport`, or your own). */
  transport: Transport;
  /** Name among the client's strategies. Default `websocket`. */
  name?: string;
  /**
   * Repositories this strategy syncs. Default: every repository of the client that no other
   * strategy lists, so one strategy without a list and others with one split them.
   */
  repositoryNames?: readonly string[];
  /** The same as `repositoryNames` (its earlier name); give one of the two. */
  repositories?: readonly string[];
  /** Token sent in `auth` and as `Authorization: Bearer` on the upgrade. */
  authToken?: string;
  /** Headers sent in `auth` and on the upgrade. */
  headers?: Record<string, string>;
  /**
   * The namespace `authToken` and `headers` belong to. Default: the client's namespace when
   * this strategy is first started. In any other namespace the strategy connects only with
   * credentials given for it (`client.useNamespace(ns, { credentials })`, or
   * `updateCredentials(…, { namespace })`); without them it stays `failed` and says so.
   */
  namespace?: string;
  /** First reconnect delay, doubled per failed attempt, with full jitter. Default 3 s. */
  reconnectDelay?: number;
  /** Longest reconnect delay. Default 60 s. */
  maxReconnectDelay?: number;
  /** A connection up this long resets the backoff. Default 10 s. */
  stableConnectionMs?: number;
  /** How often to ping the server. Default 30 s; 0 turns heartbeats off. */
  heartbeatInterval?: number;
  /**
   * A ping with no `pong` for this long drops the connection at once, without waiting for a
   * close handshake. Default 10 s.
   */
  pongTimeout?: number;
  /** Opening the socket may take this long. Default 10 s. */
  connectTimeout?: number;
  /** The server must answer `auth` within this long. Default 10 s. */
  authTimeout?: number;
  /**
   * Most events in one `push_events_batch`. Default 500 (the server's default limit); a
   * server's own `auth_success.limits` lowers it.
   */
  maxBatchEvents?: number;
  /**
   * Largest frame sent, in UTF-8 bytes; batches are cut to fit. Default 1 MiB (the server's
   * default limit); a server's own `auth_success.limits` lowers it. A change whose event alone
   * cannot fit is refused when it is written (`event_too_large`).
   */
  maxFrameBytes?: number;
  /**
   * Batches sent before the first is answered, so the server commits one while the next
   * travels. Default 2; 1 waits for each `ack`. Against a server that does not echo request
   * ids (protocol 1.0), 1.
   */
  maxBatchesInFlight?: number;
  /**
   * Called when the server refuses the credentials (or they expire). Return new credentials to
   * retry with them; return nothing to stop in the `failed` state.
   */
  onAuthFailed?: (
    failure: AuthFailure,
  ) => Credentials | undefined | Promise<Credentials | undefined>;
  /** Random numbers in [0, 1) for the jitter; injectable for tests. */
  random?: () => number;
  /** Where the strategy logs (reconnects, refused credentials, server errors). Default: nowhere. */
  logger?: Logger;
}

export const DEFAULTS = {
  name: DEFAULT_STRATEGY_NAME,
  reconnectDelay: DEFAULT_RECONNECT_DELAY_MS,
  maxReconnectDelay: DEFAULT_MAX_RECONNECT_DELAY_MS,
  stableConnectionMs: DEFAULT_STABLE_CONNECTION_MS,
  heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL_MS,
  pongTimeout: DEFAULT_PONG_TIMEOUT_MS,
  connectTimeout: DEFAULT_CONNECT_TIMEOUT_MS,
  authTimeout: DEFAULT_AUTH_TIMEOUT_MS,
  maxBatchEvents: DEFAULT_MAX_BATCH_EVENTS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxBatchesInFlight: 2,
} as const;

/** The URLs of `websocketUrl`, checked: one or more non-empty strings. */
export function nodeUrls(option: string | readonly string[]): readonly string[] {
  const urls = typeof option === 'string' ? [option] : [...option];
  if (urls.length === 0 || urls.some((url) => typeof url !== 'string' || url === ''))
    throw new LocalFirstError(
      ERROR_CODES.invalidArgument,
      'websocketUrl needs a URL, or a list of at least one',
    );
  return urls;
}

/** Delay before reconnect attempt `attempt` (0-based): full jitter over a capped exponential. */
export function backoffDelay(
  attempt: number,
  options: { reconnectDelay: number; maxReconnectDelay: number; random: () => number },
): number {
  return fullJitterBackoff(
    attempt,
    options.reconnectDelay,
    options.maxReconnectDelay,
    options.random,
  );
}

/** What the strategy tells listeners besides connection state (see core's `SyncActivity`). */
export type { SyncActivity } from '@local-first/core';

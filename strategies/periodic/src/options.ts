import {
  type AuthFailure,
  ERROR_CODES,
  LocalFirstError,
  type Logger,
  type SyncCredentials,
} from '@local-first/core';
import {
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PAGE_EVENTS,
} from '@local-first/core/adapter';

/** The strategy's `name` when none is given. */
export const DEFAULT_PERIODIC_STRATEGY_NAME = 'periodic';
/** The `syncInterval` when none is given. */
export const DEFAULT_SYNC_INTERVAL_MS = 10_000;
/** The `pushDelay` when none is given. */
export const DEFAULT_PUSH_DELAY_MS = 1_000;
/** The `requestTimeout` when none is given. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** The `retryDelay` when none is given. */
export const DEFAULT_RETRY_DELAY_MS = 2_000;
/** The `maxRetryDelay` when none is given. */
export const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;
/** How long `whenSynced()` waits when no timeout is given. */
export const DEFAULT_PERIODIC_WHEN_SYNCED_TIMEOUT_MS = 30_000;

/** The `fetch` the strategy calls: the platform's, or any function of the same shape. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link PeriodicSyncStrategy}; only `baseUrl` is required. */
export interface PeriodicSyncStrategyOptions {
  /**
   * Where the server's REST API is: its origin and any path prefix before `/api`, e.g.
   * `http://localhost:8080`.
   */
  baseUrl: string;
  /** The `fetch` to call. Default: the platform's `globalThis.fetch`. */
  fetch?: FetchFunction;
  /** Name among the client's strategies. Default `periodic`. */
  name?: string;
  /**
   * Time between the end of one sync round and the start of the next, in ms. Default 10 s. A
   * round pushes every pending change and pulls every repository this strategy syncs.
   */
  syncInterval?: number;
  /**
   * A local write starts a round this long after it (writes within the delay share the round),
   * unless the next round is due sooner. Default 1 s; set it to `syncInterval` to push only on
   * the interval.
   */
  pushDelay?: number;
  /**
   * Repositories this strategy syncs. Default: every repository of the client that no other
   * strategy lists (so a WebSocket strategy without a list takes the rest).
   */
  repositoryNames?: readonly string[];
  /** The same as `repositoryNames`; give one of the two. */
  repositories?: readonly string[];
  /** Sent as `Authorization: Bearer <token>` on every request. */
  authToken?: string;
  /** Sent on every request. */
  headers?: Record<string, string>;
  /**
   * The namespace `authToken` and `headers` belong to. Default: the client's namespace when
   * the strategy is first started. In any other namespace it syncs only with credentials given
   * for it; without them it stays `failed` and says so (`credentials_missing`).
   */
  namespace?: string;
  /**
   * Called when the server answers 401. Return new credentials to go on with them; return
   * nothing to stop in the `failed` state (new credentials given later resume it).
   */
  onAuthFailed?: (
    failure: AuthFailure,
  ) => SyncCredentials | undefined | Promise<SyncCredentials | undefined>;
  /** Most events in one batch. Default 500 (the server's default limit). */
  maxBatchEvents?: number;
  /**
   * Largest request body, in UTF-8 bytes; batches are cut to fit. Default 1 MiB (the server's
   * default limit). A server that answers 413 halves it for the rest of the strategy's life; a
   * change the server refuses as too large on its own gets a final `event_too_large` verdict.
   */
  maxBatchBytes?: number;
  /** Events asked for per pull request. Default 1000; the server may send fewer. */
  pageSize?: number;
  /** One request, body included, may take this long before it is given up. Default 10 s. */
  requestTimeout?: number;
  /** First pause after a failed round, doubled per failure, with full jitter. Default 2 s. */
  retryDelay?: number;
  /** Longest pause after failed rounds. Default 60 s. A `Retry-After` can ask for longer. */
  maxRetryDelay?: number;
  /** Random numbers in [0, 1) for the jitter; injectable for tests. */
  random?: () => number;
  /** Where the strategy logs (failed rounds, refused credentials). Default: nowhere. */
  logger?: Logger;
}

export const PERIODIC_DEFAULTS = {
  name: DEFAULT_PERIODIC_STRATEGY_NAME,
  syncInterval: DEFAULT_SYNC_INTERVAL_MS,
  pushDelay: DEFAULT_PUSH_DELAY_MS,
  maxBatchEvents: DEFAULT_MAX_BATCH_EVENTS,
  maxBatchBytes: DEFAULT_MAX_FRAME_BYTES,
  pageSize: DEFAULT_MAX_PAGE_EVENTS,
  requestTimeout: DEFAULT_REQUEST_TIMEOUT_MS,
  retryDelay: DEFAULT_RETRY_DELAY_MS,
  maxRetryDelay: DEFAULT_MAX_RETRY_DELAY_MS,
} as const;

/** The options with their defaults, checked. */
export type ResolvedOptions = Required<
  Pick<PeriodicSyncStrategyOptions, keyof typeof PERIODIC_DEFAULTS | 'random' | 'fetch'>
> & { baseUrl: string };

/** Fills in the defaults and refuses values that would make the strategy spin or stall. */
export function resolveOptions(options: PeriodicSyncStrategyOptions): ResolvedOptions {
  const given = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as PeriodicSyncStrategyOptions;
  const fetchFunction = given.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchFunction);
  if (typeof fetchFunction !== 'function')
    throw invalid('no `fetch` on this platform: pass one as the `fetch` option');
  if (typeof given.baseUrl !== 'string' || !/^https?:\/\//.test(given.baseUrl))
    throw invalid('`baseUrl` must be an http(s) URL, e.g. http://localhost:8080');
  const resolved: ResolvedOptions = {
    ...PERIODIC_DEFAULTS,
    random: Math.random,
    ...given,
    fetch: fetchFunction,
    baseUrl: given.baseUrl.replace(/\/+$/, ''),
  };
  for (const key of ['syncInterval', 'maxBatchEvents', 'maxBatchBytes', 'pageSize'] as const) {
    if (!Number.isSafeInteger(resolved[key]) || resolved[key] < 1)
      throw invalid(`\`${key}\` must be a whole number of at least 1`);
  }
  for (const key of ['pushDelay', 'requestTimeout', 'retryDelay', 'maxRetryDelay'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0)
      throw invalid(`\`${key}\` must be a number of milliseconds, 0 or more`);
  }
  return resolved;
}

function invalid(message: string): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.invalidArgument, message);
}

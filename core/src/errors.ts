/**
 * Every error the framework raises on purpose is a `LocalFirstError` with one of these stable
 * codes. Match on `error.code`, never on the message: messages may be reworded, codes may not.
 */
export const ERROR_CODES = {
  /** An argument or option is missing or has the wrong shape. */
  invalidArgument: 'invalid_argument',
  /** An event failed validation (missing eventId/dataId, bad operation, data not an object). */
  invalidEvent: 'invalid_event',
  /** A record passed to a repository failed validation (no id, not a plain object). */
  invalidRecord: 'invalid_record',
  /** The client or adapter was used before `initialize()` / `open()`. */
  notInitialized: 'not_initialized',
  /** The client or adapter was used after `dispose()` / `close()`. */
  closed: 'closed',
  /** A repository name that the client does not know. */
  unknownRepository: 'unknown_repository',
  /** A repository with this name is already registered, or bound to another client. */
  duplicateRepository: 'duplicate_repository',
  /** An event with this eventId is already in the log. */
  duplicateEvent: 'duplicate_event',
  /** A storage operation failed; the cause holds the backend's own error. */
  storageFailure: 'storage_failure',
  /**
   * Another writer holds the store (another tab or window of the app over the same browser
   * storage): this adapter is refused rather than let two writers corrupt it.
   */
  storageLocked: 'storage_locked',
  /** The adapter does not support the requested operation (see its capabilities). */
  unsupported: 'unsupported',
  /** A query is malformed (unknown operator, bad value for the operator). */
  invalidQuery: 'invalid_query',
  /**
   * A connection could not be opened (refused, DNS failure, TLS failure), or an open one failed
   * (what a transport's `onError` reports; the cause holds the socket's own error).
   */
  connectionFailed: 'connection_failed',
  /** A message was sent on a connection that is not open. */
  connectionClosed: 'connection_closed',
  /**
   * A change can never be pushed: its event alone is larger than the server accepts in one
   * frame. The write is refused before anything is stored.
   */
  eventTooLarge: 'event_too_large',
  /**
   * A strategy read through a host held to one namespace (`SyncHost.inNamespace`) while the
   * client was in another: what it read would belong to another account.
   */
  namespaceChanged: 'namespace_changed',
  /** Nothing answered within the time allowed; `details.timeoutMs` is how long was waited. */
  timeout: 'timeout',
  /**
   * A server's authenticator refused the credentials; `details.reason` is the code the client
   * gets in `auth_failed` (`missing_token`, `invalid_token`, `token_expired`…).
   */
  authFailed: 'auth_failed',
  /**
   * A sync server cannot start as configured: a command-line option, an environment variable
   * or a file it names (tokens, rules) is wrong; the message says which and why.
   */
  invalidConfig: 'invalid_config',
  /**
   * A server's access rules cannot be used; `details.problems` lists each problem with its
   * field and, from a file, its line and column.
   */
  invalidRules: 'invalid_rules',
} as const;

/** One of the values of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** The one error class of the framework: a stable `code`, a message for humans, a `cause`. */
export class LocalFirstError extends Error {
  /** Always `'LocalFirstError'`, so logs and stack traces name the class. */
  override readonly name = 'LocalFirstError';
  /** What went wrong, stable across releases: match on it. */
  readonly code: ErrorCode;
  /** Extra machine-readable facts (repository, eventId, field…), when there are any. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** True when `error` is a `LocalFirstError`, optionally with the given code. */
export function isLocalFirstError(error: unknown, code?: ErrorCode): error is LocalFirstError {
  return error instanceof LocalFirstError && (code === undefined || error.code === code);
}

/**
 * The app's API: the client, its repositories and queries, the container wiring, errors and
 * the shapes of records, events and sync activity. Everything an adapter or strategy author
 * builds with is in `@local-first/core/adapter`.
 *
 * @packageDocumentation
 * @module @local-first/core
 */
export { LocalFirstClient, type LocalFirstClientOptions } from './client.js';
export type { ConflictResolver, ConflictSide } from './conflict.js';
export type { AuthFailure, CredentialsTarget } from './credential-book.js';
export type { ResetReason } from './cursor.js';
export {
  Container,
  ContainerModule,
  createLocalFirstContainer,
  localFirstClientModule,
  repositoriesModule,
  resolveClient,
} from './di.js';
export { ERROR_CODES, type ErrorCode, isLocalFirstError, LocalFirstError } from './errors.js';
export type { EventStore } from './event-store.js';
export { randomId, uuidv7 } from './id.js';
export type { ClientTransaction } from './local-writes.js';
export { consoleLogger, type Logger, silentLogger } from './logger.js';
export {
  type JsonField,
  type JsonFields,
  type JsonValue,
  type RecordData,
  type StoredEvent,
  type StoredRecord,
  type SyncEvent,
  SyncOperation,
  SyncStatus,
} from './model.js';
export type { NamespaceOptions } from './namespace-switch.js';
export type { CountSignal } from './pending-tally.js';
export {
  CLOSE_CODES,
  PROTOCOL_ERROR_CODES,
  type ProtocolErrorCode,
  REJECTION_CODES,
  type RejectionCode,
} from './protocol.js';
export {
  type OrderClause,
  QUERY_OPERATORS,
  type QueryOperator,
  type QuerySpec,
  type WhereClause,
} from './query.js';
export {
  type AnyRepository,
  type LiveResults,
  QueryBuilder,
  Repository,
  type RepositoryOptions,
  type Stored,
  type WriteOptions,
} from './repository.js';
export type { Subscribable, Unsubscribe } from './signal.js';
export { DEFAULT_NAMESPACE, type StorageAdapter, type StorageCapabilities } from './storage.js';
export type { ClientConnectionState } from './strategies.js';
export type {
  AccessRevocation,
  ConnectionState,
  Rejection,
  SyncActivity,
  SyncCredentials,
  SyncStrategy,
  Verdict,
} from './sync-strategy.js';
export { TOKENS, type Token } from './tokens.js';
export type { Transport } from './transport.js';

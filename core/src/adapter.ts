/**
 * The adapter author's kit: the contracts a storage adapter, transport, event store, fan-out
 * or sync strategy implements, and the helpers the framework's own adapters are built from
 * (protocol messages and limits, validation, cursors, clocks, queues, query evaluation).
 * Apps need none of it: they import from `@local-first/core`.
 *
 * @packageDocumentation
 * @module @local-first/core/adapter
 */
export { fullJitterBackoff } from './backoff.js';
export { BaseTransportConnection } from './base-connection.js';
export { countUtf8, eventBytes, utf8Length } from './byte-size.js';
export { cloneJson } from './clone.js';
export { resolveRemoteEvent, stateFromEvent } from './conflict.js';
export { CredentialBook } from './credential-book.js';
export {
  advanceCursor,
  formatPosition,
  parsePosition,
  type ResetReason,
  reach,
  type StoredPosition,
} from './cursor.js';
export { ERROR_CODES, type ErrorCode, isLocalFirstError, LocalFirstError } from './errors.js';
export type { AppendOutcome, EventPage, EventStore, ServerEvent } from './event-store.js';
export {
  checkLimit,
  checkSequence,
  decodeStoredEvent,
  encodeStoredEvent,
  isoFromMs,
  parseSince,
} from './event-store-args.js';
export type { Fanout, FanoutAnnouncement, FanoutMissCause } from './fanout.js';
export {
  formatHlc,
  type HlcState,
  HybridLogicalClock,
  hlcFromTimestamp,
  isHlcStamp,
  parseHlc,
  stampProblem,
} from './hlc.js';
export { randomId, uuidv7 } from './id.js';
export { InboundQueue } from './inbound-queue.js';
export { createLocalConnectionPair, type LocalConnection } from './local-connection.js';
export { consoleLogger, type Logger, silentLogger } from './logger.js';
export {
  compareStamps,
  eventHlc,
  eventStamp,
  type JsonField,
  type JsonFields,
  type JsonValue,
  type RecordData,
  type Stamp,
  type StoredEvent,
  type StoredRecord,
  type SyncEvent,
  SyncOperation,
  SyncStatus,
  toStoredEvent,
  toWireEvent,
} from './model.js';
export {
  type AccessRevokedMessage,
  type AckMessage,
  type AuthFailedMessage,
  type AuthMessage,
  type AuthSuccessMessage,
  CLOSE_CODES,
  type ClientMessage,
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_CLOCK_DRIFT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PAGE_EVENTS,
  DEFAULT_SOCKETIO_PATH,
  DEFAULT_WS_PATH,
  type ErrorMessage,
  type EventsMessage,
  type EventsReceivedMessage,
  type LaggingMessage,
  MAX_REQUEST_ID_LENGTH,
  type PingMessage,
  type PongMessage,
  PROTOCOL_ERROR_CODES,
  PROTOCOL_VERSION,
  type ProtocolErrorCode,
  type PushEventMessage,
  type PushEventsBatchMessage,
  REJECTION_CODES,
  type RejectedEvent,
  type RejectionCode,
  type RequestAllEventsMessage,
  type RequestEventsMessage,
  type Requested,
  type ServerLimits,
  type ServerMessage,
  type SyncCompleteMessage,
} from './protocol.js';
export {
  candidateIds,
  compareCodePoints,
  compareValues,
  evaluateQuery,
  fieldValue,
  matchesClause,
  type OrderClause,
  QUERY_OPERATORS,
  type QueryOperator,
  type QuerySpec,
  recordComparator,
  validateQuery,
  type WhereClause,
} from './query.js';
export { type ChangedRow, ChangeLog, type RecordChangeSet } from './record-changes.js';
export type { LocalChange } from './replica-log.js';
export type { RepositoryBackend } from './repository.js';
export { SerialQueue, storageClosedError, storageFailure } from './serial-queue.js';
export { Emitter, StateSignal, type Subscribable, type Unsubscribe } from './signal.js';
export {
  type CommittedRecords,
  DEFAULT_NAMESPACE,
  type EventQuery,
  type ExternalCommit,
  type StatusChange,
  type StorageAdapter,
  type StorageCapabilities,
  type StorageReader,
  type StorageTransaction,
  type StorageWriter,
} from './storage.js';
export {
  appendEvents,
  duplicateEventError,
  readEventStatuses,
  readRecords,
  writeRecords,
} from './storage-batch.js';
export { listedRepositories, Routes, routeRepositories } from './strategies.js';
export { SyncStrategyBase, type SyncStrategyBaseOptions } from './strategy-base.js';
export type {
  AccessRevocation,
  ApplyResult,
  ConnectionState,
  Rejection,
  RemoteCursor,
  RevocationScope,
  SyncActivity,
  SyncCredentials,
  SyncHost,
  SyncStrategy,
  Verdict,
} from './sync-strategy.js';
export type {
  CloseInfo,
  IncomingConnectionInfo,
  InvalidFrame,
  Transport,
  TransportConnection,
  TransportOpenOptions,
  TransportServer,
} from './transport.js';
export {
  type EventValidation,
  eventRecord,
  eventStampProblem,
  validateEvent,
  validateRemoteEvents,
} from './validation.js';
export { type SyncProgress, waitUntilSynced } from './when-synced.js';
export {
  claimWriterLock,
  DEFAULT_WRITER_WAIT_MS,
  environmentLocks,
  type WriterLock,
  type WriterLocks,
} from './writer-lock.js';

/**
 * Types and constants of the sync wire protocol, version 1 with revision 1.1: the fixed
 * contract between every client strategy and every server (see the project's PROTOCOL.md).
 * Field names are the wire names. Every 1.1 field is optional, so 1.0 peers keep working.
 */
import type { SyncEvent } from './model.js';

export const PROTOCOL_VERSION = 1;

/** Path of the raw WebSocket endpoint. */
export const DEFAULT_WS_PATH = '/sync';
/** Path of the socket.io endpoint. */
export const DEFAULT_SOCKETIO_PATH = '/socket.io';

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
export const DEFAULT_MAX_BATCH_EVENTS = 500;
export const DEFAULT_MAX_PAGE_EVENTS = 1000;
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** How far ahead of the server's clock an event's stamp may be (revision 1.1). */
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 5 * 60_000;
/** Longest `requestId` a server echoes (revision 1.1). */
export const MAX_REQUEST_ID_LENGTH = 64;

export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  authFailed: 4401,
  authTimeout: 4408,
  rateLimited: 4429,
  /** Revision 1.1: the connection fell too far behind on live events. */
  tooFarBehind: 4413,
} as const;

/** The limits a server announces in `auth_success` (revision 1.1). */
export interface ServerLimits {
  /** Largest frame the server accepts, in bytes (UTF-8 of the JSON text). */
  maxFrameBytes: number;
  /** Most events in one `push_events_batch`. */
  maxBatchEvents: number;
  /** Most events the server puts in one `events` page. */
  maxPageEvents: number;
}

export const PROTOCOL_ERROR_CODES = [
  'not_authenticated',
  'forbidden',
  'invalid_message',
  'unknown_type',
  'too_large',
  'rate_limited',
  'internal',
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export const REJECTION_CODES = ['invalid_event', 'forbidden'] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

// Client → server

/** Revision 1.1: a client's name for one request, echoed in every answer to it. */
export interface Requested {
  requestId?: string;
}

export interface AuthMessage extends Requested {
  type: 'auth';
  token?: string;
  headers?: Record<string, string>;
  protocol?: number;
  clientId?: string;
}
export interface PingMessage {
  type: 'ping';
}
export interface PongMessage {
  type: 'pong';
}
export interface PushEventMessage extends Requested {
  type: 'push_event';
  repository: string;
  event: SyncEvent;
}
export interface PushEventsBatchMessage extends Requested {
  type: 'push_events_batch';
  repository: string;
  events: SyncEvent[];
}
export interface RequestEventsMessage extends Requested {
  type: 'request_events';
  repository: string;
  afterSequence?: number;
  since?: string;
  limit?: number;
}
export interface RequestAllEventsMessage extends Requested {
  type: 'request_all_events';
  repository?: string;
}
export interface EventsReceivedMessage {
  type: 'events_received';
  repository: string;
  count: number;
  lastSequence?: number;
}

export type ClientMessage =
  | AuthMessage
  | PingMessage
  | PongMessage
  | PushEventMessage
  | PushEventsBatchMessage
  | RequestEventsMessage
  | RequestAllEventsMessage
  | EventsReceivedMessage;

// Server → client

export interface AuthSuccessMessage extends Requested {
  type: 'auth_success';
  protocol: number;
  serverTime: string;
  userId?: string;
  expiresAt?: string;
  /** Revision 1.1: the server's limits; a client sizes its batches by them. */
  limits?: ServerLimits;
  /** Revision 1.1: names the server deployment. */
  serverId?: string;
}
export interface AuthFailedMessage extends Requested {
  type: 'auth_failed';
  code: string;
  message: string;
}
export interface RejectedEvent {
  eventId: string;
  code: RejectionCode;
  message: string;
}
export interface AckMessage extends Requested {
  type: 'ack';
  eventIds: string[];
  repositories: Record<string, string[]>;
  duplicates?: string[];
  rejected?: RejectedEvent[];
  lastSequence?: number;
}
export interface EventsMessage extends Requested {
  type: 'events';
  repository: string;
  events: SyncEvent[];
  hasMore?: boolean;
  lastSequence?: number;
  /** Revision 1.1: names the repository's event log; a new epoch means a recreated log. */
  epoch?: string;
}
export interface SyncCompleteMessage extends Requested {
  type: 'sync_complete';
  repository?: string;
  lastSequence?: number;
  /** Revision 1.1: as on `events`. */
  epoch?: string;
}
export interface ErrorMessage extends Requested {
  type: 'error';
  code: ProtocolErrorCode;
  message: string;
  requestType?: string;
  /** Revision 1.1: the repository of the failed request, when it had one. */
  repository?: string;
  /** Revision 1.1: for `rate_limited` and transient `internal` errors, when to try again. */
  retryAfterMs?: number;
}
/** Revision 1.1: live events were held back; catch up from the cursor. */
export interface LaggingMessage {
  type: 'lagging';
  repository: string;
}
/** Revision 1.1: the client may no longer read this repository. */
export interface AccessRevokedMessage {
  type: 'access_revoked';
  repository: string;
}

export type ServerMessage =
  | AuthSuccessMessage
  | AuthFailedMessage
  | PingMessage
  | PongMessage
  | AckMessage
  | EventsMessage
  | SyncCompleteMessage
  | ErrorMessage
  | LaggingMessage
  | AccessRevokedMessage;

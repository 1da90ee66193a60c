/**
 * Types and constants of the sync wire protocol, version 1 with revision 1.1: the fixed
 * contract between every client strategy and every server (see the project's PROTOCOL.md).
 * Field names are the wire names. Every 1.1 field is optional, so 1.0 peers keep working.
 */
import type { SyncEvent } from './model.js';

/** The protocol version this code speaks, sent as `protocol` in `auth` and `auth_success`. */
export const PROTOCOL_VERSION = 1;

/** Path of the raw WebSocket endpoint. */
export const DEFAULT_WS_PATH = '/sync';
/** Path of the socket.io endpoint. */
export const DEFAULT_SOCKETIO_PATH = '/socket.io';

/** Largest frame a server accepts unless configured otherwise; a larger one closes with 1009. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Most events in one push unless the server announces otherwise; more is `too_large`. */
export const DEFAULT_MAX_BATCH_EVENTS = 500;
/** Most events in one catch-up page unless the server announces otherwise. */
export const DEFAULT_MAX_PAGE_EVENTS = 1000;
/** How long a server waits for `auth` on a new connection before closing it with 4408. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** How far ahead of the server's clock an event's stamp may be (revision 1.1). */
export const DEFAULT_MAX_CLOCK_DRIFT_MS = 5 * 60_000;
/** Longest `requestId` a server echoes (revision 1.1). */
export const MAX_REQUEST_ID_LENGTH = 64;

/** The WebSocket close codes of the protocol, by what they mean. */
export const CLOSE_CODES = {
  /** A normal close: reconnect only if the app still wants to sync. */
  normal: 1000,
  /** The server is shutting down, or the connection was silent between two pings. */
  goingAway: 1001,
  /** A frame was larger than `maxFrameBytes`. */
  tooLarge: 1009,
  /** Authentication failed, or the credentials expired. */
  authFailed: 4401,
  /** No `auth` came within the auth timeout. */
  authTimeout: 4408,
  /** Too many messages were refused for the rate limit. */
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

/** The codes an `error` message may carry. */
export const PROTOCOL_ERROR_CODES = [
  'not_authenticated',
  'forbidden',
  'invalid_message',
  'unknown_type',
  'too_large',
  'rate_limited',
  'internal',
] as const;
/** One of {@link PROTOCOL_ERROR_CODES}. */
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** The codes of an event refused in an `ack`: bad shape or stamp, or no write permission. */
export const REJECTION_CODES = ['invalid_event', 'forbidden'] as const;
/** One of {@link REJECTION_CODES}. */
export type RejectionCode = (typeof REJECTION_CODES)[number];

// Client → server

/** Revision 1.1: a client's name for one request, echoed in every answer to it. */
export interface Requested {
  /** At most 64 characters, chosen by the client; a fresh one per request in flight. */
  requestId?: string;
}

/** The client's first message, and a re-authentication on an open connection. */
export interface AuthMessage extends Requested {
  /** Message discriminator. */
  type: 'auth';
  /** The credential; else the Bearer token of the headers is used. */
  token?: string;
  /** Headers that override those of the HTTP upgrade (names compared lower-cased). */
  headers?: Record<string, string>;
  /** The protocol version the client speaks. */
  protocol?: number;
  /** A stable id the client keeps in its storage, for the server's logs. */
  clientId?: string;
}
/** A liveness probe, sent by either side; the other answers with `pong`. */
export interface PingMessage {
  /** Message discriminator. */
  type: 'ping';
}
/** The answer to `ping`. */
export interface PongMessage {
  /** Message discriminator. */
  type: 'pong';
}
/** A push of one event: a batch of one. */
export interface PushEventMessage extends Requested {
  /** Message discriminator. */
  type: 'push_event';
  /** The repository the event belongs to. */
  repository: string;
  /** The event to store. */
  event: SyncEvent;
}
/** A push of events of one repository, stored in order in one commit and answered by one `ack`. */
export interface PushEventsBatchMessage extends Requested {
  /** Message discriminator. */
  type: 'push_events_batch';
  /** The repository the events belong to. */
  repository: string;
  /** The events, oldest first; at most `maxBatchEvents`. */
  events: SyncEvent[];
}
/** A catch-up of one repository from a cursor, answered by `events` pages and `sync_complete`. */
export interface RequestEventsMessage extends Requested {
  /** Message discriminator. */
  type: 'request_events';
  /** The repository to catch up. */
  repository: string;
  /** The cursor: events after this sequence are sent; it wins over `since`. */
  afterSequence?: number;
  /** For seed clients: events committed at or after this ISO time, on the server's clock. */
  since?: string;
  /** Lowers the page size below the server's `maxPageEvents`; never raises it. */
  limit?: number;
}
/** A read of whole logs from the start: one repository's, or every readable one's. */
export interface RequestAllEventsMessage extends Requested {
  /** Message discriminator. */
  type: 'request_all_events';
  /** The one repository to read; without it, every repository the user may read. */
  repository?: string;
}
/** The client's confirmation that it applied a catch-up page; the server paces catch-ups by it. */
export interface EventsReceivedMessage {
  /** Message discriminator. */
  type: 'events_received';
  /** The repository of the page. */
  repository: string;
  /** How many events the client applied. */
  count: number;
  /** The sequence up to which the client applied them. */
  lastSequence?: number;
}

/** Every message a client sends. */
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

/** The server's acceptance of `auth`. */
export interface AuthSuccessMessage extends Requested {
  /** Message discriminator. */
  type: 'auth_success';
  /** The protocol version the server speaks. */
  protocol: number;
  /** The server's clock, from which a client may estimate its offset. */
  serverTime: string;
  /** Who the connection acts for. */
  userId?: string;
  /** When the credentials end; the server closes with 4401 then unless re-authenticated. */
  expiresAt?: string;
  /** Revision 1.1: the server's limits; a client sizes its batches by them. */
  limits?: ServerLimits;
  /** Revision 1.1: names the server deployment. */
  serverId?: string;
}
/** The server's refusal of `auth`; a close with 4401 follows. */
export interface AuthFailedMessage extends Requested {
  /** Message discriminator. */
  type: 'auth_failed';
  /** The authenticator's code: `missing_token`, `invalid_token`, `token_expired`, `auth_error`. */
  code: string;
  /** A human-readable reason. */
  message: string;
}
/** One event of a push that the server refused, for good. */
export interface RejectedEvent {
  /** The refused event's id, or `""` when it had no usable one. */
  eventId: string;
  /** Why it was refused. */
  code: RejectionCode;
  /** A human-readable reason. */
  message: string;
}
/** The server's verdicts on one push, sent once the store has committed it. */
export interface AckMessage extends Requested {
  /** Message discriminator. */
  type: 'ack';
  /** Every event of the push the server now holds, new and duplicate, in the push's order. */
  eventIds: string[];
  /** The same list by repository (`{}` when it is empty). */
  repositories: Record<string, string[]>;
  /** The events the server already held; present only when there are some. */
  duplicates?: string[];
  /** The events the server refused; present only when there are some. */
  rejected?: RejectedEvent[];
  /** The highest sequence among the held events (not the log's end); absent when none. */
  lastSequence?: number;
}
/** Events of one repository: a catch-up page, or a live broadcast of others' pushes. */
export interface EventsMessage extends Requested {
  /** Message discriminator. */
  type: 'events';
  /** The repository the events belong to. */
  repository: string;
  /** The events in ascending sequence order, with both server fields set. */
  events: SyncEvent[];
  /** On a catch-up page, whether more pages follow; absent on a live broadcast. */
  hasMore?: boolean;
  /** The sequence of the last event in the message: the cursor for the next page. */
  lastSequence?: number;
  /** Revision 1.1: names the repository's event log; a new epoch means a recreated log. */
  epoch?: string;
}
/** The end of one repository's catch-up, or, without `repository`, of a `request_all_events`. */
export interface SyncCompleteMessage extends Requested {
  /** Message discriminator. */
  type: 'sync_complete';
  /** The repository whose catch-up ended. */
  repository?: string;
  /** The log's end when the stream ended; below the cursor asked from if the log lost events. */
  lastSequence?: number;
  /** Revision 1.1: as on `events`. */
  epoch?: string;
}
/** A message the server could not serve; the connection stays open. */
export interface ErrorMessage extends Requested {
  /** Message discriminator. */
  type: 'error';
  /** What went wrong, and so what the client does. */
  code: ProtocolErrorCode;
  /** A human-readable reason. */
  message: string;
  /** The `type` of the message it answers, when that was a string. */
  requestType?: string;
  /** Revision 1.1: the repository of the failed request, when it had one. */
  repository?: string;
  /** Revision 1.1: for `rate_limited` and transient `internal` errors, when to try again. */
  retryAfterMs?: number;
}
/** Revision 1.1: live events were held back; catch up from the cursor. */
export interface LaggingMessage {
  /** Message discriminator. */
  type: 'lagging';
  /** The repository whose live events this connection missed. */
  repository: string;
}
/** Revision 1.1: the client may no longer read this repository. */
export interface AccessRevokedMessage {
  /** Message discriminator. */
  type: 'access_revoked';
  /** The repository to drop, with its cursor and pending events. */
  repository: string;
}

/** Every message a server sends. */
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

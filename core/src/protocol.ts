/**
 * Types and constants of the sync wire protocol, version 1: the fixed contract between every
 * client strategy and every server (see PROTOCOL.md of the project). Field names are the wire
 * names.
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

export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  authFailed: 4401,
  authTimeout: 4408,
  rateLimited: 4429,
} as const;

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

export interface AuthMessage {
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
export interface PushEventMessage {
  type: 'push_event';
  repository: string;
  event: SyncEvent;
}
export interface PushEventsBatchMessage {
  type: 'push_events_batch';
  repository: string;
  events: SyncEvent[];
}
export interface RequestEventsMessage {
  type: 'request_events';
  repository: string;
  afterSequence?: number;
  since?: string;
  limit?: number;
}
export interface RequestAllEventsMessage {
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

export interface AuthSuccessMessage {
  type: 'auth_success';
  protocol: number;
  serverTime: string;
  userId?: string;
  expiresAt?: string;
}
export interface AuthFailedMessage {
  type: 'auth_failed';
  code: string;
  message: string;
}
export interface RejectedEvent {
  eventId: string;
  code: RejectionCode;
  message: string;
}
export interface AckMessage {
  type: 'ack';
  eventIds: string[];
  repositories: Record<string, string[]>;
  duplicates?: string[];
  rejected?: RejectedEvent[];
  lastSequence?: number;
}
export interface EventsMessage {
  type: 'events';
  repository: string;
  events: SyncEvent[];
  hasMore?: boolean;
  lastSequence?: number;
}
export interface SyncCompleteMessage {
  type: 'sync_complete';
  repository?: string;
  lastSequence?: number;
}
export interface ErrorMessage {
  type: 'error';
  code: ProtocolErrorCode;
  message: string;
  requestType?: string;
}

export type ServerMessage =
  | AuthSuccessMessage
  | AuthFailedMessage
  | PingMessage
  | PongMessage
  | AckMessage
  | EventsMessage
  | SyncCompleteMessage
  | ErrorMessage;

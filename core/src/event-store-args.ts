import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { ServerEvent } from './event-store.js';
import type { SyncEvent } from './model.js';

// Argument checks and the JSON form shared by every EventStore implementation, so each store
// refuses the same inputs with the same codes.

/**
 * The client's event as JSON, without the two fields only the server sets. Unknown extra fields
 * are kept: the server never changes what a client sent.
 */
export function encodeStoredEvent(event: SyncEvent): string {
  let sent: object = event;
  if (event.serverSequence !== undefined || event.serverCreatedAt !== undefined) {
    const { serverSequence: _sequence, serverCreatedAt: _createdAt, ...rest } = event;
    sent = rest;
  }
  try {
    return JSON.stringify(sent);
  } catch (cause) {
    throw new LocalFirstError(ERROR_CODES.invalidEvent, 'the event cannot be stored as JSON', {
      cause,
      details: { eventId: event.eventId },
    });
  }
}

/** Refuses a cursor that is not an integer >= 0 with `invalid_argument`. */
export function checkSequence(afterSequence: number): void {
  if (!Number.isSafeInteger(afterSequence) || afterSequence < 0) {
    throw new LocalFirstError(
      ERROR_CODES.invalidArgument,
      'afterSequence must be an integer >= 0',
      {
        details: { afterSequence },
      },
    );
  }
}

/** Refuses a page size that is not an integer >= 1 with `invalid_argument`. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new LocalFirstError(ERROR_CODES.invalidArgument, 'limit must be an integer >= 1', {
      details: { limit },
    });
  }
}

/** `since` as epoch milliseconds; any ISO-8601 spelling of an instant is accepted. */
export function parseSince(since: string): number {
  const ms = typeof since === 'string' ? Date.parse(since) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new LocalFirstError(ERROR_CODES.invalidArgument, 'since must be an ISO-8601 timestamp', {
      details: { since },
    });
  }
  return ms;
}

let lastMs = Number.NaN;
let lastIso = '';

/**
 * A server time in milliseconds as ISO-8601. The events of one commit share their time, so the
 * last answer is kept and reused.
 */
export function isoFromMs(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** An event read back from its stored JSON, with the two fields the server set. */
export function decodeStoredEvent(
  payload: string,
  serverSequence: number,
  createdAtMs: number,
): ServerEvent {
  // The parsed object is new and ours: the fields are set on it rather than copied around it.
  const event = JSON.parse(payload) as ServerEvent;
  event.serverSequence = serverSequence;
  event.serverCreatedAt = isoFromMs(createdAtMs);
  return event;
}

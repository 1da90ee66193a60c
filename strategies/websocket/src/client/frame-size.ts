import { ERROR_CODES, LocalFirstError, type StoredEvent } from '@local-first/core';
import {
  DEFAULT_MAX_FRAME_BYTES,
  eventBytes,
  type ServerLimits,
  utf8Length,
} from '@local-first/core/adapter';

export { countUtf8, eventBytes, utf8Length } from '@local-first/core/adapter';

/** Bytes of a `push_events_batch` frame around its events (the envelope, with `[]`). */
export function envelopeBytes(repository: string, requestId: string): number {
  return utf8Length(
    JSON.stringify({ type: 'push_events_batch', repository, requestId, events: [] }),
  );
}

/** What a batch may hold: the frame limit in bytes and the most events. */
export interface BatchLimits {
  /** Largest frame, in UTF-8 bytes of the encoded message. */
  maxFrameBytes: number;
  /** Most events in one batch. */
  maxBatchEvents: number;
}

/** Room left in every frame for what a transport wraps around a message (socket.io's header). */
const FRAME_MARGIN_BYTES = 64;
/** A request id longer than any a link issues, so size checks hold for every batch. */
const LONGEST_REQUEST_ID = 'z'.repeat(12);
/** A server that closes frames smaller than it announced halves our frames down to this. */
export const MIN_FRAME_BUDGET_BYTES = 16 * 1024;

/**
 * The limits a strategy's batches keep, from three sources: its own options, what the server
 * announced in `auth_success.limits` (its defaults until then), and what a 1009 close taught
 * (the server's real limit is lower than the frames we sent).
 */
export class FrameLimits {
  private server: BatchLimits = {
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    maxBatchEvents: Number.POSITIVE_INFINITY,
  };
  private budget = Number.POSITIVE_INFINITY;

  constructor(private readonly own: BatchLimits) {}

  /** What a batch may hold now. */
  get current(): BatchLimits {
    return {
      maxFrameBytes:
        Math.min(this.own.maxFrameBytes, this.server.maxFrameBytes, this.budget) -
        FRAME_MARGIN_BYTES,
      maxBatchEvents: Math.min(this.own.maxBatchEvents, this.server.maxBatchEvents),
    };
  }

  /** The server announced its limits. */
  announced(limits: ServerLimits): void {
    this.server = { maxFrameBytes: limits.maxFrameBytes, maxBatchEvents: limits.maxBatchEvents };
  }

  /** A frame that kept the limits was closed with 1009: halve what we send. */
  refusedFrame(): void {
    this.budget = Math.max(MIN_FRAME_BUDGET_BYTES, Math.floor(this.current.maxFrameBytes / 2));
  }

  private readonly envelopes = new Map<string, number>();

  /** Throws `event_too_large` when the event alone could never fit in a frame. */
  assertFits(event: StoredEvent): void {
    const limit = this.current.maxFrameBytes;
    let envelope = this.envelopes.get(event.repository);
    if (envelope === undefined) {
      envelope = envelopeBytes(event.repository, LONGEST_REQUEST_ID);
      this.envelopes.set(event.repository, envelope);
    }
    const bytes = eventBytes(event) + envelope;
    if (bytes <= limit) return;
    throw new LocalFirstError(
      ERROR_CODES.eventTooLarge,
      `this change takes ${bytes} bytes on the wire; the server accepts at most ${limit} per frame`,
      { details: { eventId: event.eventId, repository: event.repository, bytes, limit } },
    );
  }
}

import { ERROR_CODES, LocalFirstError, type StoredEvent } from '@local-first/core';
import { eventBytes, utf8Length } from '@local-first/core/adapter';

/** Bytes of a batch body around its events: `{"events":[]}`. */
const ENVELOPE_BYTES = utf8Length(JSON.stringify({ events: [] }));

/** One batch to push: events of one repository, oldest first, and the body's size. */
export interface Batch {
  repository: string;
  events: StoredEvent[];
  bytes: number;
}

/** Bytes of the body of a batch of these events. */
export function batchBytes(events: readonly StoredEvent[]): number {
  let bytes = ENVELOPE_BYTES + Math.max(0, events.length - 1);
  for (const event of events) bytes += eventBytes(event);
  return bytes;
}

/**
 * What a batch may hold: the strategy's own limits (`maxBatchEvents`, `maxBatchBytes`), lowered
 * each time the server answers 413 to a batch that kept them. REST announces no limits, so a
 * server's real ones are learnt this way; halving the count as well as the bytes means even a
 * server that takes one event at a time gets every event, one per request.
 */
export class BatchBudget {
  private events: number;
  private bytes: number;

  constructor(private readonly own: { maxBatchEvents: number; maxBatchBytes: number }) {
    this.events = own.maxBatchEvents;
    this.bytes = own.maxBatchBytes;
  }

  /** The strategy's own byte limit: a change over it alone is never sent. */
  get ownBytes(): number {
    return this.own.maxBatchBytes;
  }

  /** The limits batches keep now. */
  get current(): { maxBatchEvents: number; maxBatchBytes: number } {
    return { maxBatchEvents: this.events, maxBatchBytes: this.bytes };
  }

  /**
   * The batch that starts at `events[start]`: as many of the following events, in order, as
   * the budget holds; always at least one. The events are of one repository. `undefined` past
   * the end.
   */
  next(events: readonly StoredEvent[], start = 0): Batch | undefined {
    const first = events[start];
    if (!first) return undefined;
    const batch: StoredEvent[] = [];
    let bytes = ENVELOPE_BYTES - 1;
    for (let index = start; index < events.length; index++) {
      const event = events[index]!;
      const size = eventBytes(event) + 1;
      if (batch.length > 0 && (batch.length >= this.events || bytes + size > this.bytes)) break;
      batch.push(event);
      bytes += size;
    }
    return { repository: first.repository, events: batch, bytes };
  }

  /** The server refused a batch as too large: the next ones are at most half of it. */
  refused(batch: Batch): void {
    this.events = Math.max(1, Math.min(this.events, Math.floor(batch.events.length / 2)));
    this.bytes = Math.max(1, Math.min(this.bytes, Math.floor(batch.bytes / 2)));
  }

  /** Throws `event_too_large` when the event alone is over the strategy's own byte limit. */
  assertFits(event: StoredEvent): void {
    const bytes = batchBytes([event]);
    const limit = this.own.maxBatchBytes;
    if (bytes <= limit) return;
    throw new LocalFirstError(
      ERROR_CODES.eventTooLarge,
      `this change takes ${bytes} bytes in a request; the strategy sends at most ${limit}`,
      { details: { eventId: event.eventId, repository: event.repository, bytes, limit } },
    );
  }
}

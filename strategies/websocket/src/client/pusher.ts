import { ERROR_CODES, type Logger, type StoredEvent, type Verdict } from '@local-first/core';
import {
  type AckMessage,
  type ErrorMessage,
  type RemoteCursor,
  toWireEvent,
} from '@local-first/core/adapter';
import type { Link } from './link.js';
import type { Batch } from './push-queue.js';

/** What the pusher needs from its strategy. */
export interface PusherOptions {
  logger: Logger;
  /** The cursor to store with an ack, when the ack shows the log reaching further. */
  reached(
    link: Link,
    repository: string,
    lastSequence: number | undefined,
  ): RemoteCursor | undefined;
  /** Pause before a refused batch is sent again (backoff by attempt). */
  retryDelay(attempt: number): number;
  onAcknowledged(eventIds: string[]): void;
  onRejected(verdicts: readonly Verdict[]): void;
}

/**
 * The push side of a link: puts batches on the wire, and turns the server's answers into
 * storage changes. An `ack` marks events synced and hands its rejections to the client as
 * final verdicts (their records roll back); an `error` puts the batch back to be sent again
 * after a pause, so an event is never parked until the next connection.
 */
export class Pusher {
  constructor(private readonly options: PusherOptions) {}

  send(link: Link, batch: Batch): void {
    link.send({
      type: 'push_events_batch',
      repository: batch.repository,
      requestId: batch.requestId,
      events: batch.events.map(toWireEvent),
    });
  }

  async onAck(link: Link, ack: AckMessage): Promise<void> {
    const { host } = link;
    const rejected = ack.rejected ?? [];
    const [repository] = Object.keys(ack.repositories ?? {});
    // The link's host is held to its namespace: an ack that arrives once the storage is in
    // another changes nothing there. A cursor is stored only while the link is up.
    const cursor =
      repository === undefined || link.closed
        ? undefined
        : this.options.reached(link, repository, ack.lastSequence);
    if (ack.eventIds.length > 0 || cursor) await host.markSynced(ack.eventIds, cursor);
    if (rejected.length > 0) {
      const verdicts = rejected.map(
        (entry): Verdict => ({
          eventId: entry.eventId,
          code: entry.code,
          message: entry.message,
          source: 'server',
        }),
      );
      await host.rejectEvents(verdicts);
      this.options.onRejected(verdicts);
    }
    if (ack.eventIds.length > 0) this.options.onAcknowledged(ack.eventIds);
    if (link.closed) return;
    link.pushAttempts = 0;
    link.queue.acknowledged(ack.requestId, [
      ...ack.eventIds,
      ...rejected.map((entry) => entry.eventId),
    ]);
  }

  /** A push the server did not take goes back in front, and is sent again after a pause. */
  onError(link: Link, message: ErrorMessage): void {
    const requestId = link.echoesRequestIds ? message.requestId : undefined;
    if (link.queue.failed(requestId, message.code) !== 'resume_later') return;
    const delay = Math.max(message.retryAfterMs ?? 0, this.options.retryDelay(link.pushAttempts++));
    link.after(delay, () => link.queue.resume());
  }

  /** An event that can never fit in a frame: a final verdict, so it never blocks the rest. */
  refuse(link: Link, event: StoredEvent, bytes: number, limit: number): void {
    if (link.closed) return;
    const verdict: Verdict = {
      eventId: event.eventId,
      code: ERROR_CODES.eventTooLarge,
      message: `the change takes ${bytes} bytes; a frame holds at most ${limit}`,
      source: 'client',
    };
    // Reported once stored, so whoever waits for the pending events to drain hears of it.
    link.host
      .rejectEvents([verdict])
      .then(() => this.options.onRejected([verdict]))
      .catch((error: unknown) =>
        this.options.logger.error({ error, eventId: event.eventId }, 'could not refuse an event'),
      );
  }
}

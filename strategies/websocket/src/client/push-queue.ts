import type { StoredEvent } from '@local-first/core';
import { type BatchLimits, envelopeBytes, eventBytes } from './frame-size.js';

/** One `push_events_batch` on its way, named by the `requestId` the server echoes. */
export interface Batch {
  /** The batch's `requestId`, fresh per batch. */
  requestId: string;
  /** The repository all its events belong to. */
  repository: string;
  /** Its events, oldest first. */
  events: StoredEvent[];
}

/** What the caller does after a push error: nothing more, or `resume()` after a pause. */
export type PushErrorAction = 'none' | 'resume_later';

/** What a {@link PushQueue} is built from: how to send, refuse and name batches, and its limits. */
export interface PushQueueOptions {
  /** Puts a batch on the wire. */
  send(batch: Batch): void;
  /** An event that can never fit in one frame: it is out of the queue for good. */
  refuse(event: StoredEvent, bytes: number, limit: number): void;
  /** The limits a batch must keep, read at each send (a server announces them late). */
  limits(): BatchLimits;
  /** Batches sent before the first is answered. */
  maxInFlight: number;
  /** A new request id per batch. */
  nextRequestId(): string;
}

/**
 * The events of one connection on their way to the server. Batches are cut by the encoded
 * size of their frame and by count, both within the server's limits, so no batch is ever
 * closed with 1009. Up to `maxInFlight` batches travel at once; every answer names its batch
 * by `requestId` (a server without request ids gets one batch at a time, so its answers
 * cannot be confused).
 *
 * After an error the batch goes back in front of its repository's queue and the queue pauses
 * until `resume()`: an event is never parked, and newer events never leave before it. The
 * queue is not the truth: every event stays pending in storage until acknowledged, and a
 * queue lost with its connection is rebuilt from storage on the next one.
 */
export class PushQueue {
  private readonly waiting = new Map<string, StoredEvent[]>();
  /** Every event queued or in flight; in-flight ones point to their batch. */
  private readonly known = new Map<string, Batch | undefined>();
  private readonly inFlight = new Map<string, Batch>();
  private paused = false;
  /** Lowered after a server answers `too_large` for a batch that fit the limits we knew. */
  private countCap = Number.POSITIVE_INFINITY;
  private maxInFlight: number;

  constructor(private readonly options: PushQueueOptions) {
    this.maxInFlight = Math.max(1, options.maxInFlight);
  }

  /** Events queued or in flight. */
  get size(): number {
    return this.known.size;
  }

  /** Batches sent and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** True while paused after an error. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** True when the event is queued or in flight. */
  has(eventId: string): boolean {
    return this.known.has(eventId);
  }

  /** At most this many batches in flight from now on (1 for servers without request ids). */
  limitInFlight(count: number): void {
    this.maxInFlight = Math.max(1, Math.min(this.maxInFlight, count));
  }

  /** Queues events not queued already, and sends while fewer than the limit are in flight. */
  add(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (this.known.has(event.eventId)) continue;
      this.known.set(event.eventId, undefined);
      let list = this.waiting.get(event.repository);
      if (!list) {
        list = [];
        this.waiting.set(event.repository, list);
      }
      list.push(event);
    }
    this.pump();
  }

  /**
   * The server answered a push with an `ack` naming these events (acknowledged and rejected
   * alike): their batch is done, and the next may go. Without a `requestId` (a 1.0 server)
   * the batch is found by its events.
   */
  acknowledged(requestId: string | undefined, eventIds: readonly string[]): Batch | undefined {
    const batch = this.answered(requestId, eventIds[0]);
    if (batch) this.finish(batch);
    // Ids of events queued again meanwhile (or a 1.0 ack's extras): the server holds them.
    this.forget(eventIds);
    this.pump();
    return batch;
  }

  /**
   * The server refused a push with an `error` of this code. `too_large`: the batch is cut in
   * half and sent again; a single event is refused for good. Any other code: the batch goes
   * back in front and the caller calls `resume()` after a pause.
   */
  failed(requestId: string | undefined, code: string): PushErrorAction {
    const batch = this.answered(requestId, undefined);
    if (!batch) return 'none';
    this.inFlight.delete(batch.requestId);
    if (code === 'too_large') {
      if (batch.events.length === 1) {
        const [event] = batch.events;
        this.known.delete(event!.eventId);
        this.options.refuse(event!, eventBytes(event!), this.options.limits().maxFrameBytes);
      } else {
        this.countCap = Math.max(1, Math.floor(batch.events.length / 2));
        this.putBack(batch);
      }
      this.pump();
      return 'none';
    }
    this.putBack(batch);
    this.paused = true;
    return 'resume_later';
  }

  /** Sends again after a `resume_later`. */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /**
   * Takes events out of the queue unless they are in flight: their changes are gone from
   * storage (the repository was revoked), so they must not leave.
   */
  withdraw(eventIds: readonly string[]): void {
    this.forget(eventIds);
  }

  /** Forgets everything (the connection is gone). */
  clear(): void {
    this.waiting.clear();
    this.known.clear();
    this.inFlight.clear();
    this.paused = false;
  }

  /** The batch an answer is for: by request id, else the only one in flight, else by event. */
  private answered(requestId: string | undefined, eventId: string | undefined): Batch | undefined {
    if (requestId !== undefined) return this.inFlight.get(requestId);
    if (eventId !== undefined) {
      const batch = this.known.get(eventId);
      if (batch && this.inFlight.get(batch.requestId) === batch) return batch;
    }
    if (this.inFlight.size === 1) return this.inFlight.values().next().value;
    return undefined;
  }

  private finish(batch: Batch): void {
    this.inFlight.delete(batch.requestId);
    for (const event of batch.events) {
      this.known.delete(event.eventId);
    }
  }

  private pump(): void {
    while (!this.paused && this.inFlight.size < this.maxInFlight) {
      if (!this.sendNext()) return;
    }
  }

  private sendNext(): boolean {
    for (const [repository, list] of this.waiting) {
      const { maxFrameBytes, maxBatchEvents } = this.options.limits();
      const requestId = this.options.nextRequestId();
      const budget = maxFrameBytes - envelopeBytes(repository, requestId);
      const cap = Math.min(maxBatchEvents, this.countCap);
      let bytes = 0;
      let count = 0;
      while (count < list.length && count < cap) {
        // Events are joined by commas inside the array.
        const size = eventBytes(list[count]!) + (count > 0 ? 1 : 0);
        if (bytes + size > budget) break;
        bytes += size;
        count++;
      }
      if (count === 0 && list.length > 0) {
        // Too large for any frame: refused for good, so it never blocks the events behind it.
        const event = list.shift()!;
        this.known.delete(event.eventId);
        this.options.refuse(event, eventBytes(event), maxFrameBytes);
        return true;
      }
      if (count === 0) {
        this.waiting.delete(repository);
        continue;
      }
      const events = count === list.length ? list : list.splice(0, count);
      if (events === list) this.waiting.delete(repository);
      const batch: Batch = { requestId, repository, events };
      for (const event of events) this.known.set(event.eventId, batch);
      this.inFlight.set(requestId, batch);
      this.options.send(batch);
      return true;
    }
    return false;
  }

  /** Puts a batch back in front of its repository's queue. */
  private putBack(batch: Batch): void {
    for (const event of batch.events) this.known.set(event.eventId, undefined);
    this.waiting.set(batch.repository, [
      ...batch.events,
      ...(this.waiting.get(batch.repository) ?? []),
    ]);
  }

  /** Removes waiting events from the queue (the server holds them, or they were withdrawn). */
  private forget(eventIds: readonly string[]): void {
    const gone = new Set<string>();
    for (const eventId of eventIds) {
      if (this.known.get(eventId) !== undefined || !this.known.has(eventId)) continue;
      this.known.delete(eventId);
      gone.add(eventId);
    }
    if (gone.size === 0) return;
    for (const [repository, list] of this.waiting) {
      const kept = list.filter((event) => !gone.has(event.eventId));
      if (kept.length === 0) this.waiting.delete(repository);
      else this.waiting.set(repository, kept);
    }
  }
}

import type { StoredEvent } from '@local-first/core';

/** One `push_events_batch` on its way. */
interface Batch {
  repository: string;
  events: StoredEvent[];
}

/** What the caller does after a push error: nothing more, or `resume()` after a pause. */
export type PushErrorAction = 'none' | 'resume_later';

/**
 * The events of one connection on their way to the server. Up to `maxInFlight` batches are
 * sent before the first is answered, so the server commits one batch while the next travels;
 * whatever is pushed meanwhile waits and leaves in the next `push_events_batch`.
 *
 * The server answers every batch with exactly one `ack` or one `error`, in the order it
 * received them, except that a rate-limit error is sent at once. An `ack` names its events;
 * an `error` does not. So after an error every batch in flight is put back in front of the
 * queue, nothing is sent until the answers still owed for them have come, and from then on
 * one batch at a time is in flight, where an error names its batch without doubt.
 *
 * Nothing here is the source of truth: every event is pending in storage until acknowledged,
 * so a queue lost with its connection is rebuilt from storage on the next one.
 */
export class PushQueue {
  private readonly waiting = new Map<string, StoredEvent[]>();
  /** Every event queued or in flight; in flight ones point to their batch. */
  private readonly known = new Map<string, Batch | undefined>();
  private inFlight: Batch[] = [];
  /** Answers still to come for batches put back after an error. */
  private owed = 0;
  private paused = false;
  private maxInFlight: number;

  constructor(
    private readonly send: (repository: string, events: StoredEvent[]) => void,
    private batchSize: number,
    private readonly pipelined = 2,
  ) {
    this.maxInFlight = pipelined;
  }

  /** Events queued or in flight. */
  get size(): number {
    return this.known.size;
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
   * alike): their batch is done, and the next may go.
   */
  acknowledged(eventIds: readonly string[]): void {
    // An ack naming nothing can only answer the oldest batch (the server never does that).
    const batch =
      eventIds.length > 0
        ? this.known.get(eventIds[0]!)
        : this.owed === 0
          ? this.inFlight[0]
          : undefined;
    if (batch && this.inFlight.includes(batch)) {
      this.inFlight.splice(this.inFlight.indexOf(batch), 1);
      for (const event of batch.events) this.known.delete(event.eventId);
    } else {
      // The answer to a batch that was put back after an error: it is on the server after all.
      if (this.owed > 0) this.owed--;
      this.forget(eventIds);
    }
    this.pump();
  }

  /**
   * The server refused a push with an `error` of this code. Too large: the batch size is
   * halved and the events are sent again (a single event that is too large is dropped: it stays
   * pending in storage). Rate limited or failed inside: the events are put back and the caller
   * calls `resume()` after a pause. Anything else: the batch stays pending in storage for the
   * next connection.
   */
  rejected(code: string): PushErrorAction {
    if (this.owed > 0 && this.inFlight.length === 0) {
      // The answer to a batch already put back; its error was handled with the first one.
      this.owed--;
      this.pump();
      return 'none';
    }
    if (this.inFlight.length === 0) return 'none';
    const certain = this.inFlight.length === 1;
    const batches = this.inFlight;
    this.inFlight = [];
    this.owed = Math.max(0, batches.length - 1);
    this.maxInFlight = 1;
    const first = batches[0];
    let action: PushErrorAction = 'none';
    if (code === 'too_large') {
      if (certain && first && first.events.length <= 1) {
        this.drop(batches);
      } else {
        this.batchSize = Math.max(1, Math.floor((first?.events.length ?? 2) / 2));
        this.putBack(batches);
      }
    } else if (code === 'rate_limited' || code === 'internal') {
      this.putBack(batches);
      this.paused = true;
      action = 'resume_later';
    } else {
      this.drop(batches);
    }
    this.pump();
    return action;
  }

  /** Sends again after a `resume_later`. */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Forgets everything (the connection is gone). */
  clear(): void {
    this.waiting.clear();
    this.known.clear();
    this.inFlight = [];
    this.owed = 0;
    this.paused = false;
    this.maxInFlight = this.pipelined;
  }

  private pump(): void {
    while (!this.paused && this.owed === 0 && this.inFlight.length < this.maxInFlight) {
      if (!this.sendNext()) return;
    }
  }

  private sendNext(): boolean {
    for (const [repository, list] of this.waiting) {
      if (list.length === 0) {
        this.waiting.delete(repository);
        continue;
      }
      const events = list.length <= this.batchSize ? list : list.splice(0, this.batchSize);
      if (events === list) this.waiting.delete(repository);
      const batch: Batch = { repository, events };
      for (const event of events) this.known.set(event.eventId, batch);
      this.inFlight.push(batch);
      this.send(repository, events);
      return true;
    }
    return false;
  }

  /** Puts batches back in front of their repository's queue, oldest first. */
  private putBack(batches: readonly Batch[]): void {
    for (let index = batches.length - 1; index >= 0; index--) {
      const batch = batches[index]!;
      for (const event of batch.events) this.known.set(event.eventId, undefined);
      this.waiting.set(batch.repository, [
        ...batch.events,
        ...(this.waiting.get(batch.repository) ?? []),
      ]);
    }
  }

  /** Lets batches go; their events stay pending in storage for the next connection. */
  private drop(batches: readonly Batch[]): void {
    for (const batch of batches) for (const event of batch.events) this.known.delete(event.eventId);
  }

  /** Removes events from the queue: the server holds them. */
  private forget(eventIds: readonly string[]): void {
    const gone = new Set(eventIds.filter((eventId) => this.known.delete(eventId)));
    if (gone.size === 0) return;
    for (const [repository, list] of this.waiting) {
      const kept = list.filter((event) => !gone.has(event.eventId));
      if (kept.length === 0) this.waiting.delete(repository);
      else this.waiting.set(repository, kept);
    }
  }
}

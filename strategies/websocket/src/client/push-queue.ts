import type { StoredEvent } from '@local-first/core';

/**
 * The events of one connection on their way to the server. One batch is in flight at a time;
 * whatever is pushed meanwhile waits and leaves together in the next `push_events_batch`.
 * Nothing here is the source of truth: every event is pending in storage until acknowledged,
 * so a queue lost with its connection is rebuilt from storage on the next one.
 */
export class PushQueue {
  private readonly waiting = new Map<string, StoredEvent[]>();
  private readonly known = new Set<string>();
  private inFlight: { repository: string; events: StoredEvent[] } | undefined;
  private paused = false;

  constructor(
    private readonly send: (repository: string, events: StoredEvent[]) => void,
    private batchSize: number,
  ) {}

  /** Events queued or in flight. */
  get size(): number {
    return this.known.size;
  }

  /** Queues events not queued already, and sends if nothing is in flight. */
  add(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (this.known.has(event.eventId)) continue;
      this.known.add(event.eventId);
      let list = this.waiting.get(event.repository);
      if (!list) {
        list = [];
        this.waiting.set(event.repository, list);
      }
      list.push(event);
    }
    if (!this.inFlight && !this.paused) this.next();
  }

  /** The server answered the batch in flight (`ack`): the next one may go. */
  settled(): void {
    for (const event of this.inFlight?.events ?? []) this.known.delete(event.eventId);
    this.inFlight = undefined;
    this.next();
  }

  /**
   * The server refused the batch in flight as too large: halve the batch size and send its
   * events again. Returns false when a single event is already too large.
   */
  tooLarge(): boolean {
    const batch = this.inFlight;
    if (!batch || batch.events.length <= 1) {
      this.failed();
      return false;
    }
    this.batchSize = Math.max(1, Math.floor(batch.events.length / 2));
    this.inFlight = undefined;
    this.waiting.set(batch.repository, [
      ...batch.events,
      ...(this.waiting.get(batch.repository) ?? []),
    ]);
    this.next();
    return true;
  }

  /**
   * The server turned the batch in flight away for now (rate limited, or it failed inside):
   * put it back in front and send nothing until `resume()`, which the caller schedules.
   */
  retryLater(): void {
    const batch = this.inFlight;
    if (!batch) return;
    this.inFlight = undefined;
    this.paused = true;
    this.waiting.set(batch.repository, [
      ...batch.events,
      ...(this.waiting.get(batch.repository) ?? []),
    ]);
  }

  /** Sends again after `retryLater()`. */
  resume(): void {
    this.paused = false;
    if (!this.inFlight) this.next();
  }

  /** The batch in flight failed on the server: it stays pending in storage for the next connection. */
  failed(): void {
    this.inFlight = undefined;
    this.next();
  }

  /** Forgets everything (the connection is gone). */
  clear(): void {
    this.waiting.clear();
    this.known.clear();
    this.inFlight = undefined;
    this.paused = false;
  }

  private next(): void {
    for (const [repository, list] of this.waiting) {
      if (list.length === 0) {
        this.waiting.delete(repository);
        continue;
      }
      const events = list.splice(0, this.batchSize);
      if (list.length === 0) this.waiting.delete(repository);
      this.inFlight = { repository, events };
      this.send(repository, events);
      return;
    }
  }
}

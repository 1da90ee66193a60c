import type { StoredEvent } from './model.js';
import type { ChangeLog } from './record-changes.js';
import { StateSignal, type Subscribable } from './signal.js';

/** A number that is there at once and follows every change. */
export interface CountSignal extends Subscribable<number> {
  /** The count now. */
  readonly value: number;
}

/**
 * How many of this device's events the servers have not acknowledged yet, read once per
 * namespace and then kept from what each transaction commits: events appended pending, events
 * acknowledged or failed, repositories cleared. A write costs a map operation, never a read.
 * Only events set pending again (a log restored on the server, rare) make it read again.
 */
export class PendingTally {
  private readonly count = new StateSignal(0);
  /** Pending local event id → its repository (a cleared repository takes its events along). */
  private readonly pending = new Map<string, string>();
  /** Logs committed while a read is under way: applied on top of what it read. */
  private buffered: ChangeLog[] | undefined;
  private reads = 0;

  constructor(
    private readonly readPending: () => Promise<readonly StoredEvent[]>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The count; a subscriber hears the current value first. */
  get signal(): CountSignal {
    return this.count;
  }

  /** Reads the pending events again (at start, after a namespace switch). */
  reload(): void {
    const read = ++this.reads;
    this.buffered = [];
    this.readPending().then(
      (events) => {
        if (read !== this.reads) return;
        const buffered = this.buffered ?? [];
        this.buffered = undefined;
        this.pending.clear();
        for (const event of events) this.pending.set(event.eventId, event.repository);
        // Applying a log the read already saw changes nothing: a Map holds an id once.
        for (const log of buffered) this.apply(log);
        this.publish();
      },
      (error) => {
        if (read === this.reads) {
          // The count read before stays, followed by what committed since.
          const buffered = this.buffered ?? [];
          this.buffered = undefined;
          for (const log of buffered) this.apply(log);
          this.publish();
        }
        this.onError(error);
      },
    );
  }

  /** A transaction committed (here or, through the store, in another tab). */
  committed(log: ChangeLog): void {
    if (this.buffered) {
      this.buffered.push(log);
      return;
    }
    if (log.statuses.some((change) => change.status === 'pending')) {
      this.reload();
      return;
    }
    this.apply(log);
    this.publish();
  }

  private apply(log: ChangeLog): void {
    for (const repository of log.cleared) {
      for (const [eventId, of] of this.pending) if (of === repository) this.pending.delete(eventId);
    }
    for (const event of log.appended) {
      if (event.local && event.syncStatus === 'pending')
        this.pending.set(event.eventId, event.repository);
    }
    for (const change of log.statuses) {
      if (change.status === 'pending') continue;
      for (const eventId of change.eventIds) this.pending.delete(eventId);
    }
  }

  private publish(): void {
    if (this.count.value !== this.pending.size) this.count.set(this.pending.size);
  }
}

import type { EventsReceivedMessage } from '@local-first/core/adapter';

/** Runs `task` once the event loop is free: `setImmediate` in Node, a 0 ms timer elsewhere. */
function whenIdle(task: () => void): () => void {
  if (typeof setImmediate === 'function') {
    const handle = setImmediate(task);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(task, 0);
  return () => clearTimeout(handle);
}

/**
 * `events_received` for live broadcasts, sent once the event loop is free rather than at once:
 * the app's watchers of the new events run first, and a burst of broadcasts is confirmed with
 * one message per repository. Catch-up pages are confirmed at once (the server paces by them).
 */
export class LiveReceipts {
  private readonly owed = new Map<string, { count: number; lastSequence: number }>();
  private cancel: (() => void) | undefined;

  constructor(private readonly send: (message: EventsReceivedMessage) => void) {}

  /**
   * Records that `count` events of `repository` were applied, the cursor now at
   * `lastSequence`; a catch-up page (`now`) is confirmed at once, with whatever was owed.
   */
  add(repository: string, count: number, lastSequence: number, now = false): void {
    const owed = this.owed.get(repository);
    if (owed) {
      owed.count += count;
      owed.lastSequence = lastSequence;
    } else {
      this.owed.set(repository, { count, lastSequence });
    }
    if (now) this.flush();
    else this.cancel ??= whenIdle(() => this.flush());
  }

  /** Sends what is owed now. */
  flush(): void {
    this.cancel?.();
    this.cancel = undefined;
    for (const [repository, { count, lastSequence }] of this.owed)
      this.send({ type: 'events_received', repository, count, lastSequence });
    this.owed.clear();
  }

  /** Forgets what is owed (the connection is gone). */
  clear(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.owed.clear();
  }
}

import type { Subscribable } from './signal.js';
import type { SyncHost } from './sync-strategy.js';

/** What `waitUntilSynced` needs to see of a strategy. */
export interface SyncProgress {
  /** The client the strategy is attached to; its pending events are checked. */
  host: SyncHost;
  /** Fires on anything that can move the answer (state changes, acks, catch-ups done). */
  changes: readonly Subscribable<unknown>[];
  /** True now when connected and caught up on every repository the strategy syncs. */
  caughtUp(): boolean;
  /** True when the strategy syncs the named repository. */
  handlesRepository(name: string): boolean;
}

/**
 * Resolves `true` once `progress.caughtUp()` holds and no pending event of the strategy's
 * repositories is left; `false` after `timeoutMs`. Subscribables that call back at once with
 * their current value make an already synced strategy resolve without waiting.
 */
export function waitUntilSynced(progress: SyncProgress, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    // Checks run asynchronously and may finish out of order; only the newest one decides.
    let asked = 0;
    const stops: (() => void)[] = [];
    const finish = (synced: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      for (const stop of stops) stop();
      resolve(synced);
    };
    const check = async () => {
      const question = ++asked;
      if (!progress.caughtUp()) return;
      const pending = (await progress.host.getPendingEvents()).filter((event) =>
        progress.handlesRepository(event.repository),
      );
      if (question === asked && pending.length === 0) finish(true);
    };
    const deadline = setTimeout(() => finish(false), timeoutMs);
    for (const source of progress.changes) stops.push(source.subscribe(() => void check()));
  });
}

import type { LocalFirstClient } from '@local-first/core';
import type { WebSocketSyncStrategy } from '@local-first/websocket';

// The same helper as in examples/counter: each example stands alone, to be read on its own.

/** How long a one-shot run waits for the server before it reports that it could not sync. */
export const SYNC_DEADLINE_MS = 10_000;

/** The deadline: `SYNC_DEADLINE_MS` from the environment, or the default. */
export function syncDeadline(): number {
  const fromEnvironment = Number(process.env.SYNC_DEADLINE_MS);
  return fromEnvironment > 0 ? fromEnvironment : SYNC_DEADLINE_MS;
}

/**
 * Resolves true once the strategy has caught up on every repository (it announces each with
 * `sync_complete`) and the server has acknowledged every pending change; false if that has not
 * happened by the deadline. Subscribe before `client.start()` so no announcement is missed.
 */
export function untilSynced(
  client: LocalFirstClient,
  sync: WebSocketSyncStrategy,
  repositories: readonly string[],
  deadlineMs = syncDeadline(),
): Promise<boolean> {
  return new Promise((resolve) => {
    const catchingUp = new Set(repositories);
    let drained = false;
    // Counts are read asynchronously and may finish out of order; only the newest counts.
    let asked = 0;
    const finish = (synced: boolean) => {
      clearTimeout(deadline);
      stopActivity();
      stopPending();
      resolve(synced);
    };
    const check = () => {
      if (catchingUp.size === 0 && drained) finish(true);
    };
    const countPending = async () => {
      const question = ++asked;
      const count = (await client.getPendingEvents()).length;
      if (question !== asked) return;
      drained = count === 0;
      check();
    };
    const deadline = setTimeout(() => finish(false), deadlineMs);
    const stopActivity = sync.activityChanges.subscribe((activity) => {
      if (activity.type !== 'sync_complete') return;
      catchingUp.delete(activity.repository);
      check();
    });
    const stopPending = client.pendingChanges.subscribe(() => void countPending());
    void countPending();
  });
}

import type { AppendOutcome, SyncEvent } from '@local-first/core';

/** One append of a group: a repository and its events. */
export interface GroupedAppend {
  repository: string;
  events: readonly SyncEvent[];
}

interface Waiting extends GroupedAppend {
  resolve(outcomes: AppendOutcome[]): void;
  reject(error: unknown): void;
}

// Taken at load: a test's fake timers must not hold back a commit that real I/O waits for.
const nextTurn = globalThis.setImmediate;

/**
 * Group commit. A commit holds the event loop (better-sqlite3 is synchronous, and with
 * `synchronous=FULL` each commit waits for an fsync), so the pushes that arrive meanwhile are
 * read together on the next turn of the loop. Their appends are queued and written together
 * once that turn's I/O is done: one transaction, one fsync, in the order they were asked for,
 * each resolved only after that commit. When the shared transaction fails (it is rolled back
 * as a whole), each append is tried alone, so one that cannot be stored fails only itself.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly commitAll: (group: readonly GroupedAppend[]) => AppendOutcome[][],
    private readonly commitOne: (append: GroupedAppend) => AppendOutcome[],
  ) {}

  /** Number of appends waiting for the next commit. */
  get waiting(): number {
    return this.queue.length;
  }

  append(repository: string, events: readonly SyncEvent[]): Promise<AppendOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ repository, events, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      nextTurn(() => this.flush());
    });
  }

  /** Commits what is queued now; `close()` calls it so that no append asked for is dropped. */
  flush(): void {
    this.scheduled = false;
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    if (group.length > 1) {
      let outcomes: AppendOutcome[][] | undefined;
      try {
        outcomes = this.commitAll(group);
      } catch {
        // Rolled back: each is tried alone below, and only the ones at fault fail.
      }
      if (outcomes) {
        for (const [index, waiting] of group.entries()) waiting.resolve(outcomes[index]!);
        return;
      }
    }
    for (const waiting of group) {
      try {
        waiting.resolve(this.commitOne(waiting));
      } catch (error) {
        waiting.reject(error);
      }
    }
  }
}

import type { AppendOutcome } from '@local-first/core/adapter';

/** One append as the writer takes it: a repository, and its events' ids and stored JSON. */
export interface EncodedAppend {
  repository: string;
  eventIds: string[];
  payloads: string[];
}

/** What became of one append of a commit. */
export type AppendResult = { outcomes: AppendOutcome[] } | { error: unknown };

/** Commits a group of appends and returns one result per append, in order. */
export type CommitGroup = (appends: EncodedAppend[]) => AppendResult[] | Promise<AppendResult[]>;

interface Waiting {
  append: EncodedAppend;
  resolve(outcomes: AppendOutcome[]): void;
  reject(error: unknown): void;
}

// Taken at load: a test's fake timers must not hold back a commit that real I/O waits for.
const nextTurn = globalThis.setImmediate;

/**
 * Group commit: one commit runs at a time, and the appends asked for meanwhile wait for the
 * next one, which takes them all (one transaction, one fsync) in the order they were asked
 * for; each resolves only after its commit. The first append after a quiet spell waits for
 * the end of the current turn of the event loop, so the pushes read in one turn share a commit.
 *
 * `commit` runs on this thread (better-sqlite3 is synchronous: the event loop waits for the
 * fsync, and the pushes that arrive meanwhile are read on the next turn) or posts the group to
 * the writer thread (the event loop goes on while it commits). `maxGroup: 1` turns grouping
 * off: each append is a commit of its own, still one at a time.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private running: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly commit: CommitGroup,
    private readonly maxGroup = Number.POSITIVE_INFINITY,
  ) {}

  /** Number of appends waiting for a commit (not counting the one running). */
  get waiting(): number {
    return this.queue.length;
  }

  append(append: EncodedAppend): Promise<AppendOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ append, resolve, reject });
      if (this.scheduled || this.running) return;
      this.scheduled = true;
      nextTurn(() => {
        this.scheduled = false;
        this.run();
      });
    });
  }

  /** Resolves once every append asked for so far is committed (or failed); `close()` awaits it. */
  async drain(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      this.run();
      await this.running;
    }
  }

  private run(): void {
    if (this.running || this.queue.length === 0) return;
    const group = this.queue.splice(0, this.maxGroup);
    this.running = this.settle(group).finally(() => {
      this.running = undefined;
      this.run();
    });
  }

  private async settle(group: Waiting[]): Promise<void> {
    let results: AppendResult[];
    try {
      results = await this.commit(group.map((waiting) => waiting.append));
    } catch (error) {
      for (const waiting of group) waiting.reject(error);
      return;
    }
    for (const [index, waiting] of group.entries()) {
      const result = results[index]!;
      if ('outcomes' in result) waiting.resolve(result.outcomes);
      else waiting.reject(result.error);
    }
  }
}

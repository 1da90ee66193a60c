interface Waiter {
  repository: string;
  ready: () => boolean;
  resolve: () => void;
}

/**
 * What a client has confirmed with `events_received`, per repository, so a catch-up can wait
 * for the client instead of pushing every page into its socket at once. Confirmations count by
 * `lastSequence` when the client sends it, and by `count` for clients of the seed protocol.
 */
export class Confirmations {
  private readonly sequences = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();

  /** True once the client has confirmed anything: clients that never do are never waited for. */
  get active(): boolean {
    return this.counts.size > 0;
  }

  confirm(repository: string, count: number, lastSequence: number | undefined): void {
    this.counts.set(repository, (this.counts.get(repository) ?? 0) + count);
    if (lastSequence !== undefined) {
      this.sequences.set(repository, Math.max(lastSequence, this.sequences.get(repository) ?? 0));
    }
    for (const waiter of this.waiters) {
      if (waiter.repository === repository && waiter.ready()) this.settle(waiter);
    }
  }

  /** Events confirmed by count so far, to measure a stream's confirmations from its start. */
  countOf(repository: string): number {
    return this.counts.get(repository) ?? 0;
  }

  /**
   * Resolves once the client has confirmed through `sequence`, or `count` events since
   * `countBase`; or after `timeoutMs`, so a client that never confirms still gets everything.
   */
  waitFor(
    repository: string,
    target: { sequence: number; count: number; countBase: number },
    timeoutMs: number,
  ): Promise<void> {
    const ready = () =>
      (this.sequences.get(repository) ?? 0) >= target.sequence ||
      this.countOf(repository) - target.countBase >= target.count;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(waiter), timeoutMs);
      const waiter: Waiter = {
        repository,
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Lets every waiting stream go (the connection closed). */
  releaseAll(): void {
    for (const waiter of this.waiters) this.settle(waiter);
  }

  private settle(waiter: Waiter): void {
    this.waiters.delete(waiter);
    waiter.resolve();
  }
}

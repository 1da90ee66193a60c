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
  // Made on first use: most connections never confirm or wait, and each Map or Set costs a
  // hash table of its own.
  private positions: Map<string, { count: number; sequence: number }> | undefined;
  private waiters: Set<Waiter> | undefined;

  /** True once the client has confirmed anything: clients that never do are never waited for. */
  get active(): boolean {
    return (this.positions?.size ?? 0) > 0;
  }

  confirm(repository: string, count: number, lastSequence: number | undefined): void {
    this.positions ??= new Map();
    const position = this.positions.get(repository) ?? { count: 0, sequence: 0 };
    position.count += count;
    if (lastSequence !== undefined) position.sequence = Math.max(lastSequence, position.sequence);
    this.positions.set(repository, position);
    for (const waiter of this.waiters ?? []) {
      if (waiter.repository === repository && waiter.ready()) this.settle(waiter);
    }
  }

  /** Events confirmed by count so far, to measure a stream's confirmations from its start. */
  countOf(repository: string): number {
    return this.positions?.get(repository)?.count ?? 0;
  }

  private sequenceOf(repository: string): number {
    return this.positions?.get(repository)?.sequence ?? 0;
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
      this.sequenceOf(repository) >= target.sequence ||
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
      this.waiters ??= new Set();
      this.waiters.add(waiter);
    });
  }

  /** Lets every waiting stream go (the connection closed). */
  releaseAll(): void {
    for (const waiter of this.waiters ?? []) this.settle(waiter);
  }

  private settle(waiter: Waiter): void {
    this.waiters?.delete(waiter);
    waiter.resolve();
  }
}

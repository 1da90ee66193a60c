/** What an `OutputGuard` needs of its connection. */
export interface GuardedOutput {
  /** Bytes sent and not yet taken by the network; `undefined` when the transport cannot tell. */
  buffered(): number | undefined;
  /** Tells the client it missed live events of a repository (protocol 1.1 `lagging`). */
  sendLagging(repository: string): void;
  /** Closes the connection with 4413: it fell too far behind. */
  cut(reason: string): void;
}

/** The limits an `OutputGuard` enforces (see `SyncLimits`). */
export interface OutputLimits {
  sendHighWaterBytes: number;
  lagTimeoutMs: number;
  lagCheckIntervalMs: number;
  maxFrameBytes: number;
}

/**
 * One connection's unsent output, watched so that a peer that does not read cannot make the
 * server hold an unbounded queue for it (protocol 1.1, slow readers). Past the high-water mark
 * the connection is *held*: live events of every repository skip it (each repository is noted),
 * and a catch-up waits before its next page. Once the output has drained to half the mark, the
 * connection gets one `lagging` per repository it missed and catches up from its cursor. One that
 * stays held for `lagTimeoutMs`, or whose output passes the hard limit (answers piling up behind
 * a flood of requests), is closed with 4413. Nothing is lost either way: the log has it all.
 */
export class OutputGuard {
  private missed: Set<string> | undefined;
  private heldSince = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly writable: (() => void)[] = [];
  private readonly hardLimit: number;
  private lastPageBytes = 0;

  constructor(
    private readonly output: GuardedOutput,
    private readonly limits: OutputLimits,
    private readonly now: () => number,
  ) {
    this.hardLimit = Math.max(
      4 * limits.sendHighWaterBytes,
      limits.sendHighWaterBytes + 2 * limits.maxFrameBytes,
    );
  }

  /** True while live events skip this connection. */
  get held(): boolean {
    return this.missed !== undefined;
  }

  /** Whether a live event of `repository` may go out now; if not, the repository is noted. */
  admitLive(repository: string): boolean {
    if (!this.missed && !this.over()) return true;
    this.hold().add(repository);
    return false;
  }

  /**
   * After any message went out: past the mark, the connection is held from now on. `pageBytes`
   * is what an `events` message added to the queue: a catch-up page may be larger than a frame
   * (a thousand large events), and the last one sent does not count against the hard limit.
   */
  sent(pageBytes = 0): void {
    if (pageBytes > 0) this.lastPageBytes = pageBytes;
    if (!this.missed && this.over()) this.hold();
  }

  /** Resolves once the output is under the mark, at once if it is (a catch-up's next page). */
  whenWritable(): Promise<void> {
    if (!this.missed && !this.over()) return Promise.resolve();
    this.hold();
    return new Promise((resolve) => this.writable.push(resolve));
  }

  /** The connection closed: stop watching and let every waiting stream go. */
  dispose(): void {
    this.release();
  }

  private over(): boolean {
    const buffered = this.output.buffered();
    return buffered !== undefined && buffered > this.limits.sendHighWaterBytes;
  }

  private hold(): Set<string> {
    if (this.missed) return this.missed;
    this.missed = new Set();
    this.heldSince = this.now();
    this.timer = setInterval(() => this.check(), this.limits.lagCheckIntervalMs);
    this.timer.unref?.();
    return this.missed;
  }

  private check(): void {
    const buffered = this.output.buffered() ?? 0;
    if (buffered > this.hardLimit + this.lastPageBytes) {
      this.release();
      this.output.cut(`${buffered} bytes unsent; the client is not reading`);
    } else if (buffered <= this.limits.sendHighWaterBytes / 2) {
      const missed = this.release();
      for (const repository of missed) this.output.sendLagging(repository);
    } else if (this.now() - this.heldSince >= this.limits.lagTimeoutMs) {
      this.release();
      this.output.cut(`output above ${this.limits.sendHighWaterBytes} bytes for too long`);
    }
  }

  private release(): Set<string> {
    const missed = this.missed ?? new Set<string>();
    this.missed = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const resolve of this.writable.splice(0)) resolve();
    return missed;
  }
}

/**
 * A token bucket: `capacity` messages at once, refilled at `refillPerSecond`. The clock is
 * injected so tests can drive it.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.last) / 1000) * this.refillPerSecond,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Milliseconds from the last `take()` until the next one can succeed: 0 when a token is
   * there, else at least 1; `undefined` when the bucket never refills.
   */
  msUntilToken(): number | undefined {
    if (this.tokens >= 1) return 0;
    if (!(this.refillPerSecond > 0)) return undefined;
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.refillPerSecond));
  }
}

/**
 * Holds what arrives on a new client connection until its owner has subscribed. `open()`
 * resolves in a microtask, and a server that speaks first can put its frame in the same TCP read
 * as the handshake: without the hold, that frame would be emitted before anyone listens.
 */
export class InboundQueue {
  private held: Array<() => void> | undefined;
  private releaseScheduled = false;

  constructor(hold: boolean) {
    this.held = hold ? [] : undefined;
  }

  /** Runs `delivery` now, or later in arrival order while the queue holds. */
  deliver(delivery: () => void): void {
    if (this.held) this.held.push(delivery);
    else delivery();
  }

  /**
   * Called on every subscription. The release waits one microtask, so listeners subscribed in
   * the same synchronous block as the first one miss nothing either.
   */
  subscribed(): void {
    if (!this.held || this.releaseScheduled) return;
    this.releaseScheduled = true;
    queueMicrotask(() => {
      const held = this.held ?? [];
      this.held = undefined;
      for (const delivery of held) delivery();
    });
  }
}

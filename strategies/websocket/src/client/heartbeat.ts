import type { TransportConnection } from '@local-first/core';

/**
 * Pings a connection at an interval; if nothing at all arrives within the pong timeout of a
 * ping, the link is dead (a close may never come, e.g. when a laptop sleeps) and the connection
 * is closed so the strategy reconnects.
 */
export class Heartbeat {
  private interval: ReturnType<typeof setInterval> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly pongTimeoutMs: number,
  ) {}

  start(connection: TransportConnection): void {
    this.stop();
    if (this.intervalMs <= 0) return;
    this.interval = setInterval(() => {
      connection.send({ type: 'ping' });
      clearTimeout(this.deadline);
      this.deadline = setTimeout(
        () => connection.close(4000, 'no answer to ping'),
        this.pongTimeoutMs,
      );
    }, this.intervalMs);
  }

  /** Something arrived: the link is alive. */
  alive(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  stop(): void {
    clearInterval(this.interval);
    this.interval = undefined;
    this.alive();
  }
}

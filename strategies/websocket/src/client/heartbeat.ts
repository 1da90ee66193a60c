import type { ServerMessage } from '@local-first/core/adapter';

type Timer = ReturnType<typeof setTimeout>;

/**
 * Pings a connection at an interval. When no answer to a ping has arrived for `pongTimeoutMs`
 * after it, the link is dead (a close may never come: a laptop asleep, a proxy that stalls,
 * a link that still delivers the server's frames but no longer ours) and `onDead` runs once,
 * so the strategy drops the link at once instead of waiting for a close handshake that
 * cannot complete.
 *
 * The deadline is armed by the first unanswered ping and not pushed back by later ones, so a
 * pong timeout longer than the interval still fires. After `stop()` no timer of it runs.
 */
export class Heartbeat {
  private interval: ReturnType<typeof setInterval> | undefined;
  private deadline: Timer | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly pongTimeoutMs: number,
    private readonly ping: () => void,
    private readonly onDead: () => void,
  ) {}

  start(): void {
    if (this.stopped || this.intervalMs <= 0 || this.interval) return;
    this.interval = setInterval(() => this.tick(), this.intervalMs);
  }

  /** An answer to a ping arrived: the link is alive both ways. Called on arrival, not once handled. */
  alive(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.interval);
    this.interval = undefined;
    this.alive();
  }

  private tick(): void {
    if (this.stopped) return;
    this.deadline ??= setTimeout(() => {
      this.deadline = undefined;
      if (!this.stopped) this.onDead();
    }, this.pongTimeoutMs);
    this.ping();
  }
}

/** A `pong`, or the server's refusal of our `ping` (rate limited): either way it read it. */
export function answersPing(message: ServerMessage): boolean {
  return message.type === 'pong' || (message.type === 'error' && message.requestType === 'ping');
}

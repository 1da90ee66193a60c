import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

const LOOPBACK = '127.0.0.1';

/** What a proxy has done so far, for the run's report. */
export interface ProxyStats {
  connections: number;
  cuts: number;
  stalls: number;
  delays: number;
}

/** One direction of a link: chunks wait here while the link is stalled or delayed. */
class Pipe {
  private readonly queue: { chunk: Buffer; releaseAt: number }[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The source is gone: once the queue is drained, the far side is closed too. */
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly proxy: ChaosProxy,
  ) {
    from.on('data', (chunk: Buffer) => {
      this.queue.push({ chunk, releaseAt: Date.now() + proxy.latencyMs });
      // Holding many chunks means the far side is not being fed: stop reading, as a full TCP
      // window would, so a stalled link holds a bounded amount of data.
      if (this.queue.length > 256) from.pause();
      this.pump();
    });
    // A FIN travels like data: behind what was sent before it, and not through a stall.
    from.on('close', () => {
      this.ended = true;
      this.pump();
    });
  }

  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.to.destroyed) return;
    const now = Date.now();
    const stalledUntil = this.proxy.stalledUntil;
    if (stalledUntil > now) {
      if (this.queue.length > 0 || this.ended)
        this.timer = setTimeout(() => this.pump(), stalledUntil - now);
      return;
    }
    while (this.queue.length > 0 && this.queue[0]!.releaseAt <= now) {
      this.to.write(this.queue.shift()!.chunk);
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => this.pump(), this.queue[0]!.releaseAt - now);
    } else if (this.ended) {
      this.to.destroySoon();
    } else if (this.from.isPaused()) {
      this.from.resume();
    }
  }

  /** Lets every held chunk go now (the faults are over). */
  release(): void {
    for (const entry of this.queue) entry.releaseAt = 0;
    this.pump();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

/** A client socket, its upstream socket, and the two directions between them. */
class Link {
  readonly pipes: [Pipe, Pipe];
  private closed = false;

  constructor(
    readonly downstream: Socket,
    readonly upstream: Socket,
    proxy: ChaosProxy,
    onClosed: (link: Link) => void,
  ) {
    this.pipes = [new Pipe(downstream, upstream, proxy), new Pipe(upstream, downstream, proxy)];
    const finished = () => {
      if (this.closed || !downstream.destroyed || !upstream.destroyed) return;
      this.closed = true;
      for (const pipe of this.pipes) pipe.dispose();
      onClosed(this);
    };
    for (const socket of [downstream, upstream]) {
      // A reset or a refused connection reaches the other side at once, as a reset.
      socket.on('error', () => this.cut());
      socket.on('close', finished);
    }
  }

  /** Both sides go at once, with a reset (a socket still connecting is just dropped): a cut cable. */
  cut(): void {
    for (const socket of [this.downstream, this.upstream]) {
      if (socket.destroyed) continue;
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }
}

/**
 * A TCP proxy on loopback between one client and the server, with faults on command: cut every
 * connection, stall (hold all data both ways without closing: a half-open link), or add
 * latency. Its port stays the same for the whole run, so a client keeps one server URL (and
 * so one stored cursor) across restarts of both.
 */
export class ChaosProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  /** Epoch ms until which nothing is forwarded. */
  stalledUntil = 0;
  /** Latency added to every chunk read now. */
  latencyMs = 0;
  private latencyTimer: ReturnType<typeof setTimeout> | undefined;
  port = 0;
  readonly stats: ProxyStats = { connections: 0, cuts: 0, stalls: 0, delays: 0 };

  constructor(private readonly upstreamPort: () => number) {}

  async listen(): Promise<number> {
    const server = createServer({ noDelay: true }, (downstream) => this.accept(downstream));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  private accept(downstream: Socket): void {
    this.stats.connections++;
    const upstream = tcpConnect({ host: LOOPBACK, port: this.upstreamPort(), noDelay: true });
    this.links.add(new Link(downstream, upstream, this, (link) => this.links.delete(link)));
  }

  /** Open connections right now. */
  get openLinks(): number {
    return this.links.size;
  }

  /** Destroys both sides of every open connection; returns how many there were. */
  cut(): number {
    this.stats.cuts++;
    const count = this.links.size;
    for (const link of [...this.links]) link.cut();
    return count;
  }

  /** Forwards nothing, either way, for `durationMs`; connections stay open. */
  stall(durationMs: number): void {
    this.stats.stalls++;
    this.stalledUntil = Math.max(this.stalledUntil, Date.now() + durationMs);
  }

  /** Delays every chunk by `latencyMs` for the next `durationMs`. */
  delay(durationMs: number, latencyMs: number): void {
    this.stats.delays++;
    this.latencyMs = latencyMs;
    clearTimeout(this.latencyTimer);
    this.latencyTimer = setTimeout(() => {
      this.latencyMs = 0;
    }, durationMs);
  }

  /** Ends every stall and delay and lets held data through. */
  heal(): void {
    this.stalledUntil = 0;
    this.latencyMs = 0;
    clearTimeout(this.latencyTimer);
    for (const link of this.links) for (const pipe of link.pipes) pipe.release();
  }

  async close(): Promise<void> {
    this.heal();
    for (const link of [...this.links]) link.cut();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

import { ERROR_CODES, LocalFirstError, type Transport } from '@local-first/core';
import {
  BaseTransportConnection,
  type CloseInfo,
  type IncomingConnectionInfo,
  type TransportConnection,
  type TransportOpenOptions,
} from '@local-first/core/adapter';

/** `ws` waits this long for the peer's close frame before it destroys the socket. */
export const WS_CLOSE_TIMEOUT_MS = 30_000;
/** `ws`'s default `maxPayload`: what a client end accepts. */
export const WS_DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
/**
 * What the kernel takes of a socket's output before `ws`'s `bufferedAmount` starts to grow: the
 * send buffer plus what the peer's receive window holds (a few hundred KB on a real network).
 */
export const SOCKET_BUFFER_BYTES = 256 * 1024;

export type Side = 'client' | 'server';
/** `up` carries what the client sends, `down` what the server sends. */
export type Direction = 'up' | 'down';

type Frame =
  | { kind: 'message'; text: string; bytes: number }
  | { kind: 'close'; info: CloseInfo }
  /** The TCP connection is gone (RST, or the peer destroyed its socket). */
  | { kind: 'reset' };

export interface LinkOptions {
  /** One-way delay of every frame; order is kept per direction. */
  latencyMs: number;
  /** What the server end accepts (the engine's `maxFrameBytes`, as `ws`'s `maxPayload`). */
  serverMaxFrameBytes: number;
  clientMaxFrameBytes?: number;
  closeTimeoutMs?: number;
  /** Default `SOCKET_BUFFER_BYTES`. */
  socketBufferBytes?: number;
}

/** What the world wants to see of a link's client end. */
export interface LinkObserver {
  clientSent(link: Link, message: object, bytes: number): void;
  /** A message handed to the client's listeners: its arrival, before anyone handled it. */
  clientReceived(link: Link, message: unknown): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One end of a link. It behaves as `WebSocketConnection` over `ws` does: `close()` makes
 * `isOpen` false at once (CLOSING), and `onClose` fires only when the peer's close frame comes
 * back, or after the 30 s close timeout when it never does; after a local close nothing more is
 * handed out; a frame over the limit is not delivered and this end closes with 1009.
 */
export class LinkEnd extends BaseTransportConnection {
  state: 'open' | 'closing' | 'closed' = 'open';
  /** When this end started closing on its own (close(), or a frame too large), and how. */
  closedByThisEnd: { at: number; info: CloseInfo } | undefined;
  closedAt: number | undefined;
  private report: CloseInfo | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes sent that the peer has not received: in flight, or lost on a dead direction. */
  unreceived = 0;

  constructor(
    readonly link: Link,
    readonly side: Side,
  ) {
    // Client connections hold what arrives until the strategy subscribes, as the real ones do.
    super(side === 'client');
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * As `ws`'s `bufferedAmount`: what the kernel has not taken. A dead direction never drains,
   * as TCP keeps retransmitting into a link that lost its peer, so the output piles up here.
   */
  get bufferedBytes(): number {
    const kernel = this.link.options.socketBufferBytes ?? SOCKET_BUFFER_BYTES;
    return Math.max(0, this.unreceived - kernel);
  }

  send(message: object): void {
    if (this.state !== 'open')
      throw new LocalFirstError(ERROR_CODES.connectionClosed, 'the connection is closed');
    const text = JSON.stringify(message);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (this.side === 'client') this.link.observer.clientSent(this.link, message, bytes);
    this.link.transmit(this.side, { kind: 'message', text, bytes });
  }

  close(code = 1000, reason = ''): void {
    if (this.state !== 'open') return;
    this.startClosing({ code, reason });
  }

  /** A frame came off the wire. */
  arrive(frame: Frame): void {
    if (frame.kind === 'reset') {
      if (this.state !== 'closed') this.finish(this.report ?? { code: 1006, reason: 'reset' });
      return;
    }
    if (frame.kind === 'close') {
      if (this.state === 'open') {
        // The answer to the peer's close; the socket ends once the FINs are exchanged.
        this.state = 'closing';
        this.report = frame.info;
        this.link.transmit(this.side, frame);
        this.timer = setTimeout(() => this.finish(frame.info), 2 * this.link.options.latencyMs);
      } else if (this.state === 'closing' && this.closedByThisEnd) {
        this.finish(this.closedByThisEnd.info);
      }
      return;
    }
    if (this.state !== 'open') return;
    if (frame.bytes > this.link.receiveLimit(this.side)) {
      // ws: WS_ERR_UNSUPPORTED_MESSAGE_LENGTH, then a close with 1009; the frame is lost.
      this.startClosing({ code: 1009, reason: 'frame too large' });
      this.deliver(() =>
        this.invalid.emit({ code: 'too_large', message: `a frame of ${frame.bytes} bytes` }),
      );
      return;
    }
    const message: unknown = JSON.parse(frame.text);
    this.deliver(() => {
      if (this.side === 'client') this.link.observer.clientReceived(this.link, message);
      this.messages.emit(message);
    });
  }

  private startClosing(info: CloseInfo): void {
    this.state = 'closing';
    this.closedByThisEnd = { at: Date.now(), info };
    this.report = info;
    this.link.transmit(this.side, { kind: 'close', info });
    this.timer = setTimeout(() => {
      this.finish(info);
      // ws destroys the socket: a peer that can still hear us learns it from TCP.
      this.link.transmit(this.side, { kind: 'reset' });
    }, this.link.options.closeTimeoutMs ?? WS_CLOSE_TIMEOUT_MS);
  }

  private finish(info: CloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closedAt = Date.now();
    clearTimeout(this.timer);
    this.deliver(() => this.closes.emit(info));
  }
}

/** A socket between one client and the server: two ends, two directions, one delay each. */
export class Link {
  readonly client: LinkEnd;
  readonly server: LinkEnd;
  readonly openedAt = Date.now();
  /** Directions that stopped delivering (half-open): frames vanish, nobody is told. */
  readonly dead = new Set<Direction>();
  cutAt: number | undefined;
  private readonly lastArrival: Record<Direction, number> = { up: 0, down: 0 };

  constructor(
    readonly id: number,
    readonly options: LinkOptions,
    readonly observer: LinkObserver,
  ) {
    this.client = new LinkEnd(this, 'client');
    this.server = new LinkEnd(this, 'server');
  }

  receiveLimit(side: Side): number {
    return side === 'server'
      ? this.options.serverMaxFrameBytes
      : (this.options.clientMaxFrameBytes ?? WS_DEFAULT_MAX_PAYLOAD);
  }

  transmit(from: Side, frame: Frame): void {
    const direction: Direction = from === 'client' ? 'up' : 'down';
    const [source, target] =
      from === 'client' ? [this.client, this.server] : [this.server, this.client];
    const bytes = frame.kind === 'message' ? frame.bytes : 0;
    source.unreceived += bytes;
    if (this.dead.has(direction)) return;
    const now = Date.now();
    const at = Math.max(now + this.options.latencyMs, this.lastArrival[direction]);
    this.lastArrival[direction] = at;
    setTimeout(() => {
      if (this.dead.has(direction)) return;
      source.unreceived -= bytes;
      target.arrive(frame);
    }, at - now);
  }

  /** The link stops delivering in these directions, without a close on either side. */
  cut(directions: readonly Direction[]): void {
    this.cutAt ??= Date.now();
    for (const direction of directions) this.dead.add(direction);
  }

  /** A middlebox resets the connection: both ends hear 1006 after the delay, in flight is lost. */
  reset(): void {
    this.cut(['up', 'down']);
    setTimeout(() => {
      this.client.arrive({ kind: 'reset' });
      this.server.arrive({ kind: 'reset' });
    }, this.options.latencyMs);
  }
}

/** The server side of the network: where accepted links go, and whether anyone listens. */
export interface Acceptor {
  readonly up: boolean;
  accept(connection: TransportConnection, info: IncomingConnectionInfo): void;
}

/**
 * The client's transport: each `open()` is a TCP + upgrade handshake of one round trip, and
 * fails when no server listens.
 */
export class ModelNetwork implements Transport {
  readonly name = 'model';
  readonly links: Link[] = [];

  constructor(
    private readonly options: LinkOptions,
    private readonly acceptor: Acceptor,
    private readonly observer: LinkObserver,
  ) {}

  async open(_url: string, options: TransportOpenOptions = {}): Promise<TransportConnection> {
    await sleep(this.options.latencyMs);
    if (!this.acceptor.up) {
      await sleep(this.options.latencyMs);
      throw new LocalFirstError(ERROR_CODES.connectionFailed, 'connection refused');
    }
    const link = new Link(this.links.length + 1, this.options, this.observer);
    this.links.push(link);
    const headers = Object.fromEntries(
      Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    this.acceptor.accept(link.server, { headers, remoteAddress: '10.0.0.2', transport: 'model' });
    await sleep(this.options.latencyMs);
    return link.client;
  }

  /** The newest link whose client end is still open. */
  current(): Link | undefined {
    const last = this.links.at(-1);
    return last && last.client.state === 'open' ? last : undefined;
  }
}

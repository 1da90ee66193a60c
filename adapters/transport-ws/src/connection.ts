import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import { BaseTransportConnection, CLOSE_CODES, type CloseInfo } from '@local-first/core/adapter';

/**
 * The part of a WebSocket this package uses. The browser's `WebSocket`, the `ws` package's
 * class and Node's own `WebSocket` all fit it.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued and not yet sent (`ws`, browsers and Node all have it). */
  readonly bufferedAmount?: number;
  /** Queues one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Hears that the handshake completed. */
  addEventListener(type: 'open', listener: () => void): void;
  /** Hears each frame that arrives. */
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** Hears the close, with its code and reason. */
  addEventListener(
    type: 'close',
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  /** Hears a failure of the socket; a close follows. */
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** `WebSocket.OPEN` of every implementation; read from here so no global is needed. */
export const WEB_SOCKET_OPEN = 1;

/** A close reason may hold at most 123 bytes of UTF-8 (RFC 6455, 5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

/** The error code `ws` gives a frame over its `maxPayload`; it has already closed with 1009. */
const WS_TOO_LARGE_ERROR = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/** Options of a `WebSocketConnection`. */
export interface WebSocketConnectionOptions {
  /** Hold incoming events until the first subscription (client connections). */
  holdUntilSubscribed: boolean;
  /**
   * Server half on `ws`: send each message as one UTF-8 buffer (as a text frame) that every
   * connection the same message goes to shares, instead of converting the text per connection.
   */
  sharedBytes?: boolean;
  /**
   * Server half on `ws`: hold the frames sent during one turn of the event loop and write them
   * to the socket together at its end (one system call instead of one per frame). A broadcast
   * of many commits reaches each reader as one write.
   */
  coalesceWrites?: boolean;
}

/** The TCP socket under `ws`'s WebSocket, which can hold writes back (`cork`). */
interface Corkable {
  cork(): void;
  uncork(): void;
}

// Sockets corked during this task of the event loop, uncorked together once the task and every
// promise reaction it set off have run (a tick queued from a reaction runs after them all):
// the acks of one group commit and its broadcasts leave in one write per socket, and a lone
// ack leaves at once, not a whole turn of the event loop later as with setImmediate.
// (Server side only: browsers never coalesce.)
const corked = new Set<Corkable>();
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  const sockets = [...corked];
  corked.clear();
  for (const socket of sockets) socket.uncork();
}

function holdWrites(socket: Corkable): void {
  if (corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (uncorkScheduled) return;
  uncorkScheduled = true;
  process.nextTick(uncorkAll);
}

/** `ws`'s Node-style events (`WebSocket` of the `ws` package). */
interface NodeEventsSocket {
  // biome-ignore lint/suspicious/noExplicitAny: each event has its own listener signature
  on(event: string, listener: (...args: any[]) => void): void;
}

/** `ws`'s socket, which can send a text frame from bytes. */
interface WsSocket {
  send(data: Uint8Array, options: { binary: boolean }): void;
}

/**
 * A `TransportConnection` over one WebSocket: one JSON text frame per message. Serves both the
 * client half (over an injected WebSocket class) and the server half (over `ws`).
 */
export class WebSocketConnection extends BaseTransportConnection {
  private state: 'open' | 'closing' | 'closed' = 'open';
  /** What this side asked for; reported instead of the peer's echo, as the in-memory pair does. */
  private localClose: CloseInfo | undefined;
  private readonly sharedBytes: boolean;
  private readonly coalesceWrites: boolean;

  constructor(
    private readonly socket: WebSocketLike,
    options: WebSocketConnectionOptions,
  ) {
    super(options.holdUntilSubscribed);
    this.sharedBytes = options.sharedBytes === true;
    this.coalesceWrites = options.coalesceWrites === true;
    const node = socket as unknown as Partial<NodeEventsSocket>;
    if (typeof node.on === 'function') {
      // `ws`: its own events, without the DOM-style wrapper objects `addEventListener` makes
      // for every listener of every connection.
      node.on('message', (data: { toString(): string }, isBinary: boolean) =>
        this.receive(isBinary ? data : data.toString()),
      );
      node.on('error', (error: Error) => this.failed(socketError(error)));
      node.on('close', (code: number, reason: { toString(): string }) =>
        this.ended({ code, reason: reason.toString() }),
      );
    } else {
      socket.addEventListener('message', (event) => this.receive(event.data));
      socket.addEventListener('error', (event) => this.failed(socketError(event)));
      socket.addEventListener('close', (event) => this.ended(event));
    }
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.socket.readyState === WEB_SOCKET_OPEN;
  }

  /** The socket's `bufferedAmount`: what `send()` queued that the network has not taken. */
  get bufferedBytes(): number | undefined {
    return this.socket.bufferedAmount;
  }

  send(message: object): void {
    if (!this.isOpen)
      throw new LocalFirstError(ERROR_CODES.connectionClosed, 'the connection is closed');
    const frame = encode(message);
    if (this.coalesceWrites) {
      const tcp = (this.socket as unknown as { _socket?: Partial<Corkable> })._socket;
      if (typeof tcp?.cork === 'function' && typeof tcp.uncork === 'function')
        holdWrites(tcp as Corkable);
    }
    if (this.sharedBytes)
      (this.socket as unknown as WsSocket).send(frameBytes(frame), { binary: false });
    else this.socket.send(frame.text);
  }

  close(code: number = CLOSE_CODES.normal, reason = ''): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    const text = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
    try {
      this.socket.close(code, text);
      this.localClose = { code, reason: text };
    } catch {
      // Browsers accept only 1000 and 3000-4999 from scripts; 1001 or 1009 would throw here.
      this.socket.close(CLOSE_CODES.normal, text);
      this.localClose = { code: CLOSE_CODES.normal, reason: text };
    }
  }

  private receive(data: unknown): void {
    this.deliver(() => {
      // After a local close() nothing more is handed out, as with the in-memory pair.
      if (this.state !== 'open') return;
      const decoded = decode(data);
      if (decoded.ok) this.messages.emit(decoded.message);
      else this.invalid.emit({ code: 'invalid_message', message: decoded.problem });
    });
  }

  private failed(error: LocalFirstError): void {
    const tooLarge = (error.cause as { code?: unknown } | undefined)?.code === WS_TOO_LARGE_ERROR;
    // ws has already sent 1009; the peer's echo is never read, so record the code here.
    if (tooLarge && !this.localClose) {
      this.localClose = { code: CLOSE_CODES.tooLarge, reason: 'frame too large' };
    }
    this.deliver(() => {
      if (tooLarge) this.invalid.emit({ code: 'too_large', message: error.message });
      this.errors.emit(error);
    });
  }

  private ended(event: { code: number; reason: string }): void {
    this.state = 'closed';
    const info = this.localClose ?? { code: event.code, reason: event.reason };
    this.deliver(() => this.closes.emit(info));
  }
}

/** One message as it goes out: its text, and its UTF-8 bytes once some connection asked. */
interface Frame {
  text: string;
  bytes?: Uint8Array;
}

// A live broadcast sends one message object to many readers, interleaved with other messages:
// each message object is encoded (and turned into bytes) once, and its frame lives as long as
// the object. Messages are treated as frozen once sent.
const frames = new WeakMap<object, Frame>();

/** One message → one text frame; a value JSON cannot carry is the caller's mistake. */
function encode(message: object): Frame {
  const known = frames.get(message);
  if (known) return known;
  let text: string | undefined;
  try {
    text = JSON.stringify(message);
  } catch (error) {
    throw new LocalFirstError(ERROR_CODES.invalidArgument, 'the message is not JSON-serializable', {
      cause: error,
    });
  }
  if (typeof text !== 'string')
    throw new LocalFirstError(ERROR_CODES.invalidArgument, 'the message is not a JSON object');
  const frame: Frame = { text };
  frames.set(message, frame);
  return frame;
}

const utf8 = new TextEncoder();

function frameBytes(frame: Frame): Uint8Array {
  frame.bytes ??= utf8.encode(frame.text);
  return frame.bytes;
}

type Decoded = { ok: true; message: object } | { ok: false; problem: string };

/** A text frame holding one JSON object is a message; anything else is reported, not thrown. */
export function decode(data: unknown): Decoded {
  if (typeof data !== 'string') return { ok: false, problem: 'binary frames are not supported' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return { ok: false, problem: 'the frame is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: false, problem: 'the frame is not a JSON object' };
  return { ok: true, message: parsed };
}

/**
 * What `onError` reports: `connection_failed`, with the socket's own error as the cause. `ws`
 * hands an Error, or an ErrorEvent with the error inside; browsers hand a bare Event, which
 * is the cause then.
 */
function socketError(event: unknown): LocalFirstError {
  const inner = (event as { error?: unknown } | undefined)?.error;
  const cause = event instanceof Error ? event : inner instanceof Error ? inner : event;
  const message = (cause as { message?: unknown } | undefined)?.message;
  return new LocalFirstError(
    ERROR_CODES.connectionFailed,
    typeof message === 'string' && message ? message : 'websocket error',
    { cause },
  );
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let result = '';
  let bytes = 0;
  for (const character of text) {
    const size = encoder.encode(character).length;
    if (bytes + size > maxBytes) break;
    result += character;
    bytes += size;
  }
  return result;
}

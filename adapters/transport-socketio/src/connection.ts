import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import { BaseTransportConnection, CLOSE_CODES, type CloseInfo } from '@local-first/core/adapter';

/** The socket.io event that carries protocol messages (`socket.send(obj)`). */
export const MESSAGE_EVENT = 'message';

/**
 * The socket.io event that carries a close code and reason just before a disconnect: socket.io
 * has no close codes of its own. Kept apart from `message` so it never enters the protocol's
 * message stream.
 */
export const CLOSE_REASON_EVENT = 'close_reason';

/** WebSocket's "closed without a close frame": a disconnect that nobody announced. */
export const ABNORMAL_CLOSE_CODE = 1006;

/** WebSocket's "the close frame carried no code". */
const NO_STATUS_CODE = 1005;

/** The error code of `ws` (under engine.io) for a frame over `maxHttpBufferSize`. */
const WS_TOO_LARGE_ERROR = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
const WS_TOO_LARGE_MESSAGE = /max payload size exceeded/i;

/** socket.io disconnect reasons that mean one side chose to leave, not that the link broke. */
const DELIBERATE_REASONS = new Set([
  'io client disconnect',
  'io server disconnect',
  'client namespace disconnect',
  'server namespace disconnect',
]);

/** What the connection needs of a socket.io socket; the client and server halves adapt theirs. */
export interface SocketIoPeer {
  connected(): boolean;
  emit(event: string, payload: unknown): void;
  /** Disconnects the socket and its underlying engine.io connection. */
  disconnect(): void;
  /** Every non-reserved event, in arrival order. */
  onEvent(listener: (event: string, args: unknown[]) => void): void;
  onDisconnect(listener: (reason: string, details: unknown) => void): void;
  /** Bytes emitted and not yet taken by the network, where the half can tell (the server's). */
  bufferedBytes?(): number;
}

/**
 * A `TransportConnection` over one socket.io socket. Messages travel as `message` events; close
 * codes travel as a `close_reason` event sent right before the disconnect (see the README).
 */
export class SocketIoConnection extends BaseTransportConnection {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private localClose: CloseInfo | undefined;
  private remoteClose: CloseInfo | undefined;

  constructor(
    private readonly peer: SocketIoPeer,
    options: { holdUntilSubscribed: boolean },
  ) {
    super(options.holdUntilSubscribed);
    peer.onEvent((event, args) => this.receive(event, args));
    peer.onDisconnect((reason, details) => this.ended(reason, details));
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.peer.connected();
  }

  get bufferedBytes(): number | undefined {
    return this.peer.bufferedBytes?.();
  }

  send(message: object): void {
    if (!this.isOpen)
      throw new LocalFirstError(ERROR_CODES.connectionClosed, 'the connection is closed');
    this.peer.emit(MESSAGE_EVENT, message);
  }

  close(code: number = CLOSE_CODES.normal, reason = ''): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.localClose = { code, reason };
    // Both go out on the same engine.io connection, so the peer reads the code first.
    if (this.peer.connected()) this.peer.emit(CLOSE_REASON_EVENT, { code, reason });
    this.peer.disconnect();
  }

  private receive(event: string, args: unknown[]): void {
    if (event === CLOSE_REASON_EVENT) {
      this.remoteClose ??= closeInfoOf(args[0]);
      return;
    }
    this.deliver(() => {
      if (this.state !== 'open') return;
      if (event !== MESSAGE_EVENT) {
        this.invalid.emit({
          code: 'invalid_message',
          message: `unexpected socket.io event ${JSON.stringify(event)}`,
        });
        return;
      }
      const decoded = decode(args[0]);
      if (decoded.ok) this.messages.emit(decoded.message);
      else this.invalid.emit({ code: 'invalid_message', message: decoded.problem });
    });
  }

  private ended(reason: string, details: unknown): void {
    // Disconnect events are delivered synchronously inside disconnect(); a microtask keeps
    // onClose asynchronous, as on every other transport.
    this.state = 'closed';
    const tooLarge = isTooLarge(details);
    const info = this.localClose ?? this.remoteClose ?? unannouncedClose(reason, details, tooLarge);
    queueMicrotask(() =>
      this.deliver(() => {
        if (tooLarge) this.invalid.emit({ code: 'too_large', message: 'frame too large' });
        if (details instanceof Error && !DELIBERATE_REASONS.has(reason))
          this.errors.emit(
            new LocalFirstError(ERROR_CODES.connectionFailed, details.message || reason, {
              cause: details,
            }),
          );
        this.closes.emit(info);
      }),
    );
  }
}

type Decoded = { ok: true; message: object } | { ok: false; problem: string };

/** Objects are messages as they are; strings are parsed as JSON; anything else is reported. */
export function decode(data: unknown): Decoded {
  let value = data;
  if (typeof data === 'string') {
    try {
      value = JSON.parse(data);
    } catch {
      return { ok: false, problem: 'the message is not JSON' };
    }
  }
  if (!isPlainObject(value)) return { ok: false, problem: 'the message is not a JSON object' };
  return { ok: true, message: value };
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  // Buffers and ArrayBuffers (socket.io's binary attachments) and arrays are not messages.
  return prototype === Object.prototype || prototype === null;
}

function closeInfoOf(payload: unknown): CloseInfo | undefined {
  const { code, reason } = (payload ?? {}) as { code?: unknown; reason?: unknown };
  if (typeof code !== 'number' || !Number.isInteger(code)) return undefined;
  return { code, reason: typeof reason === 'string' ? reason : '' };
}

function unannouncedClose(reason: string, details: unknown, tooLarge: boolean): CloseInfo {
  if (tooLarge) return { code: CLOSE_CODES.tooLarge, reason: 'frame too large' };
  return { code: closeCodeOf(reason, details), reason };
}

/**
 * A disconnect without `close_reason`: the WebSocket close code when engine.io passed it on (the
 * client half gets the CloseEvent), 1000 for a deliberate disconnect, 1006 otherwise.
 */
function closeCodeOf(reason: string, details: unknown): number {
  const context = (details as { context?: { code?: unknown } } | undefined)?.context;
  const code = context?.code;
  if (typeof code === 'number' && code !== NO_STATUS_CODE) return code;
  return DELIBERATE_REASONS.has(reason) ? CLOSE_CODES.normal : ABNORMAL_CLOSE_CODE;
}

/**
 * Whether a disconnect came from a frame over the size limit. The client half sees the close
 * code itself; on the server half engine.io wraps ws's error in a new Error whose message is the
 * old error as text, dropping its code, so the text is all there is to go on.
 */
function isTooLarge(details: unknown): boolean {
  let current: unknown = details;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    const { code, message, description } = current as {
      code?: unknown;
      message?: unknown;
      description?: unknown;
    };
    if (code === WS_TOO_LARGE_ERROR) return true;
    if (typeof message === 'string' && WS_TOO_LARGE_MESSAGE.test(message)) return true;
    current = description;
  }
  return false;
}

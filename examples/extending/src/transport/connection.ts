import type { Socket } from 'node:net';
import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import { BaseTransportConnection, CLOSE_CODES, type CloseInfo } from '@local-first/core/adapter';
import { decodeLine, encodeControl, encodeMessage, type Line, LineSplitter } from './lines.js';

/** The code a side reports when the link broke without a close line (as WebSocket does). */
const ABNORMAL_CLOSE = 1006;

/** What one end of an NDJSON connection needs to know. */
export interface NdjsonConnectionOptions {
  /** The client sends `hello` and waits for `welcome`; the server waits for `hello`, answers. */
  side: 'client' | 'server';
  /** Longest line taken, in bytes; a longer one closes the connection with 1009. */
  maxFrameBytes: number;
  /** How long a close waits for the peer to end its side before the socket is cut. */
  closeTimeoutMs: number;
  /** Client: the headers its `hello` carries. */
  headers?: Record<string, string> | undefined;
  /**
   * The handshake is done. Runs before the next line is read, so a server can hand the
   * connection over here and its new owner misses nothing.
   */
  onOpen(headers: Record<string, string>): void;
  /** The socket ended or failed before the handshake was done; nothing was handed over. */
  onRefused(cause: Error): void;
}

type Phase = 'handshake' | 'open' | 'closing' | 'closed';

/**
 * One end of a connection: a `TransportConnection` over a TCP socket, one JSON line per message.
 * `BaseTransportConnection` gives it the four listener lists and the hold of early messages;
 * this class reads lines, writes lines, and turns the close line and the socket's end into one
 * `onClose` with the right code.
 */
export class NdjsonConnection extends BaseTransportConnection {
  private phase: Phase = 'handshake';
  /** What this side asked for in `close()`: it reports that, not the peer's echo. */
  private localClose: CloseInfo | undefined;
  /** What the peer's close line said. */
  private peerClose: CloseInfo | undefined;
  private lastError: Error | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly lines: LineSplitter;

  constructor(
    private readonly socket: Socket,
    private readonly options: NdjsonConnectionOptions,
  ) {
    // A client's messages may arrive in the same read as `welcome`, before `open()` resolved.
    super(options.side === 'client');
    this.lines = new LineSplitter(options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error: Error) => this.failed(error));
    socket.on('close', () => this.ended());
    if (options.side === 'client')
      socket.write(encodeControl({ name: 'hello', headers: options.headers ?? {} }));
  }

  get isOpen(): boolean {
    return this.phase === 'open' && !this.socket.destroyed;
  }

  /** What `send()` queued that the network has not taken yet. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  send(message: object): void {
    if (!this.isOpen)
      throw new LocalFirstError(ERROR_CODES.connectionClosed, 'the connection is closed');
    this.socket.write(encodeMessage(message));
  }

  close(code: number = CLOSE_CODES.normal, reason = ''): void {
    if (this.phase !== 'open') return;
    this.localClose = { code, reason };
    this.finish(encodeControl({ name: 'close', code, reason }));
  }

  /** Cuts the socket at once: a handshake that failed or took too long. */
  abort(cause: Error): void {
    this.lastError ??= cause;
    this.socket.destroy();
  }

  /** Writes the last line (if any), ends our side, and cuts the socket if the peer never ends. */
  private finish(lastLine?: string): void {
    this.phase = 'closing';
    if (lastLine) this.socket.end(lastLine);
    else this.socket.end();
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.options.closeTimeoutMs);
  }

  private read(chunk: Buffer): void {
    // After a close line either way, what still arrives is dropped unread.
    if (this.phase !== 'handshake' && this.phase !== 'open') return;
    const { lines, tooLarge } = this.lines.push(chunk);
    for (const line of lines) {
      if (this.phase !== 'handshake' && this.phase !== 'open') return;
      this.take(decodeLine(line));
    }
    if (!tooLarge) return;
    if (this.phase === 'handshake') {
      this.abort(new Error('the handshake line is too large'));
      return;
    }
    if (this.phase !== 'open') return;
    const message = `a line passed the limit of ${this.options.maxFrameBytes} bytes`;
    this.deliver(() => this.invalid.emit({ code: 'too_large', message }));
    this.close(CLOSE_CODES.tooLarge, 'frame too large');
  }

  private take(line: Line): void {
    if (this.phase === 'handshake') {
      this.handshake(line);
      return;
    }
    if (line.kind === 'message') {
      const { message } = line;
      // After a local close() nothing more is handed out; what came before the peer's close is.
      this.deliver(() => {
        if (!this.localClose) this.messages.emit(message);
      });
      return;
    }
    if (line.kind === 'control' && line.control.name === 'close') {
      this.peerClose = { code: line.control.code, reason: line.control.reason };
      this.finish();
      return;
    }
    const problem = line.kind === 'invalid' ? line.problem : `an unexpected "${line.control.name}"`;
    this.deliver(() => this.invalid.emit({ code: 'invalid_message', message: problem }));
  }

  private handshake(line: Line): void {
    const expected = this.options.side === 'client' ? 'welcome' : 'hello';
    if (line.kind !== 'control' || line.control.name !== expected) {
      const refusal =
        line.kind === 'control' && line.control.name === 'close'
          ? `the peer closed with ${line.control.code} (${line.control.reason})`
          : `the peer did not open with "${expected}"`;
      this.abort(new Error(refusal));
      return;
    }
    if (this.options.side === 'server') this.socket.write(encodeControl({ name: 'welcome' }));
    this.phase = 'open';
    this.options.onOpen(line.control.name === 'hello' ? line.control.headers : {});
  }

  private failed(error: Error): void {
    this.lastError ??= error;
    if (this.phase === 'handshake') return;
    this.deliver(() => this.errors.emit(error));
  }

  private ended(): void {
    clearTimeout(this.closeTimer);
    const before = this.phase;
    this.phase = 'closed';
    if (before === 'handshake') {
      this.options.onRefused(this.lastError ?? new Error('closed during the handshake'));
      return;
    }
    const info = this.localClose ?? this.peerClose ?? { code: ABNORMAL_CLOSE, reason: '' };
    this.deliver(() => this.closes.emit(info));
  }
}

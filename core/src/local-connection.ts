import { BaseTransportConnection } from './base-connection.js';
import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { TransportConnection } from './transport.js';

/** One end of an in-memory connection; the other end is its `peer`. */
class LocalEnd extends BaseTransportConnection {
  peer!: LocalEnd;
  private open = true;
  /** Every message this end has sent, for assertions. */
  readonly sent: unknown[] = [];

  get isOpen(): boolean {
    return this.open;
  }

  send(message: object): void {
    if (!this.open)
      throw new LocalFirstError(ERROR_CODES.connectionClosed, 'the connection is closed');
    // A JSON round trip, as on a real wire: what arrives is a copy, and non-JSON values vanish.
    const copy: unknown = JSON.parse(JSON.stringify(message));
    this.sent.push(copy);
    const peer = this.peer;
    queueMicrotask(() => {
      if (peer.open) peer.messages.emit(copy);
    });
  }

  /** Delivers a raw frame to the other end as if it had come off a wire. */
  sendRaw(frame: string): void {
    const peer = this.peer;
    queueMicrotask(() => {
      if (!peer.open) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(frame);
      } catch {
        peer.invalid.emit({ code: 'invalid_message', message: 'the frame is not JSON' });
        return;
      }
      peer.messages.emit(parsed);
    });
  }

  close(code = 1000, reason = ''): void {
    if (!this.open) return;
    this.open = false;
    const peer = this.peer;
    // Messages already sent are delivered before the close, as with a real socket.
    queueMicrotask(() => {
      this.closes.emit({ code, reason });
      if (peer.open) {
        peer.open = false;
        peer.closes.emit({ code, reason });
      }
    });
  }
}

/** An in-memory connection end with the extras tests use. */
export type LocalConnection = TransportConnection & {
  /** Every message this end has sent. */
  readonly sent: readonly unknown[];
  /** Delivers a raw text frame to the other end, as if from a wire (bad JSON included). */
  sendRaw(frame: string): void;
};

/**
 * Two connected in-memory ends: what one sends, the other receives, in order and after a
 * JSON round trip; closing either closes both. For tests of engines and strategies without
 * sockets; the real transports run the same conformance suite over real sockets.
 */
export function createLocalConnectionPair(): {
  /** The end a client strategy opens. */
  client: LocalConnection;
  /** The end a server engine serves. */
  server: LocalConnection;
} {
  const client = new LocalEnd();
  const server = new LocalEnd();
  client.peer = server;
  server.peer = client;
  return { client, server };
}

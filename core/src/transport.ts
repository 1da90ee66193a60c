import type { Unsubscribe } from './signal.js';

/** How a connection ended. */
export interface CloseInfo {
  /** The WebSocket close code (1000 normal, 1006 abnormal, 44xx protocol codes…). */
  code: number;
  /** The close reason, `''` when none was given. */
  reason: string;
}

/** Why a frame was not delivered as a message. */
export interface InvalidFrame {
  /** Not a JSON object, or larger than the transport accepts. */
  code: 'invalid_message' | 'too_large';
  /** What was wrong with the frame. */
  message: string;
}

/**
 * One open, message-level connection. Messages are JSON objects; framing and encoding are the
 * transport's business. The same shape serves the client and the server side. Messages that
 * arrive before the first `onMessage` subscription are held and delivered to it, never dropped
 * (a server may speak first, in the same read as the handshake).
 */
export interface TransportConnection {
  /** True until the connection closes. */
  readonly isOpen: boolean;
  /**
   * Optional capability: bytes that `send()` accepted and the network has not taken yet (the
   * transport's own queue and the socket's), about as many as they take on the wire. A server
   * reads it to stop feeding a peer that does not read (protocol 1.1, slow readers); on a
   * transport that leaves it out the server cannot tell, and its memory is not bounded.
   */
  readonly bufferedBytes?: number;
  /**
   * Sends one message; fails with `connection_closed` once the connection is closed. A message
   * is not changed after it is sent, so a transport may encode it once for many connections.
   */
  send(message: object): void;
  /** Closes the connection with a code and reason; closing twice is harmless. */
  close(code?: number, reason?: string): void;
  /** Each message received, in order. */
  onMessage(listener: (message: unknown) => void): Unsubscribe;
  /**
   * A frame that arrived but is not a message: not JSON, not an object, too large. Carries a
   * protocol error code and a description; the connection stays open unless the transport
   * must close it (an oversized frame closes with 1009).
   */
  onInvalidMessage(listener: (problem: InvalidFrame) => void): Unsubscribe;
  /**
   * Fires once, when the connection has closed for any reason. The side that called `close()`
   * reports its own code; the other side reports the code it received (1006 when none came).
   * Browsers let scripts close only with 1000 or 3000–4999.
   */
  onClose(listener: (info: CloseInfo) => void): Unsubscribe;
  /** Errors worth logging, such as a failed write; a fatal one is followed by a close. */
  onError(listener: (error: Error) => void): Unsubscribe;
}

/** What a client passes when it opens a connection. */
export interface TransportOpenOptions {
  /** Headers for the HTTP upgrade, where the platform allows (Node); browsers cannot send them. */
  headers?: Record<string, string>;
  /** Give up opening after this long, with `connection_failed`. Each transport documents its default. */
  timeoutMs?: number;
}

/**
 * The client half of a transport. It opens connections and nothing more: it never reconnects
 * by itself; reconnection belongs to the strategy.
 */
export interface Transport {
  /** A short name for logs and test titles (`ws`, `socketio`, …). */
  readonly name: string;
  /** Opens a connection; rejects with `connection_failed` when it cannot. */
  open(url: string, options?: TransportOpenOptions): Promise<TransportConnection>;
}

/** What the server half knows about a connection when it hands it over. */
export interface IncomingConnectionInfo {
  /** Headers of the HTTP request that opened the connection, lower-cased names. */
  headers: Record<string, string>;
  /** The peer's address, for logs and rate limits. */
  remoteAddress: string | undefined;
  /** The transport that carried it (`ws`, `socketio`). */
  transport: string;
}

/**
 * The server half of a transport: it accepts connections and hands each to the engine as a
 * `TransportConnection`, so the engine never knows which transport carried it.
 */
export interface TransportServer {
  /** A short name for logs (`ws`, `socketio`, …); connections report it as `transport`. */
  readonly name: string;
  /** Registers the engine's handler for new connections. */
  onConnection(
    handler: (connection: TransportConnection, info: IncomingConnectionInfo) => void,
  ): Unsubscribe;
  /** Stops accepting connections and closes the open ones with the given code (default 1001). */
  close(code?: number, reason?: string): Promise<void>;
}

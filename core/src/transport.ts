import type { Unsubscribe } from './signal.js';

/** How a connection ended. */
export interface CloseInfo {
  /** The WebSocket close code (1000 normal, 1006 abnormal, 44xx protocol codes…). */
  code: number;
  reason: string;
}

/**
 * One open, message-level connection. Messages are JSON objects; framing and encoding are the
 * transport's business. The same shape serves the client and the server side.
 */
export interface TransportConnection {
  /** True until the connection closes. */
  readonly isOpen: boolean;
  /** Sends one message; fails with `connection_closed` once the connection is closed. */
  send(message: object): void;
  /** Closes the connection with a code and reason; closing twice is harmless. */
  close(code?: number, reason?: string): void;
  /** Each message received, in order. */
  onMessage(listener: (message: unknown) => void): Unsubscribe;
  /**
   * A frame that arrived but is not a message: not JSON, not an object, too large. Carries a
   * protocol error code (`invalid_message`, `too_large`) and a description.
   */
  onInvalidMessage(listener: (problem: { code: string; message: string }) => void): Unsubscribe;
  /** Fires once, when the connection has closed for any reason. */
  onClose(listener: (info: CloseInfo) => void): Unsubscribe;
  /** Errors that do not close the connection by themselves (they are followed by a close). */
  onError(listener: (error: Error) => void): Unsubscribe;
}

/** What a client passes when it opens a connection. */
export interface TransportOpenOptions {
  /** Headers for the HTTP upgrade, where the platform allows (Node); browsers cannot send them. */
  headers?: Record<string, string>;
  /** Give up opening after this long, with `connection_failed`. */
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
  readonly name: string;
  /** Registers the engine's handler for new connections. */
  onConnection(
    handler: (connection: TransportConnection, info: IncomingConnectionInfo) => void,
  ): Unsubscribe;
  /** Stops accepting connections and closes the open ones with the given code. */
  close(code?: number, reason?: string): Promise<void>;
}

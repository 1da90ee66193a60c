import { ERROR_CODES, LocalFirstError, type Transport } from '@local-first/core';
import type { TransportConnection, TransportOpenOptions } from '@local-first/core/adapter';
import { WebSocketConnection, type WebSocketLike } from './connection.js';

/** How long `open()` waits for the handshake when the caller gives no `timeoutMs`. */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

/** The third constructor argument of the `ws` package; browsers ignore it. */
export interface WebSocketClientOptions {
  /** Headers sent on the HTTP upgrade. */
  headers?: Record<string, string>;
}

/**
 * A WebSocket class: the browser's `WebSocket`, or `WebSocket` of the `ws` package in Node.
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: WebSocketClientOptions,
) => WebSocketLike;

/** Options of {@link WsTransport}; only `WebSocket` is required. */
export interface WsTransportOptions {
  /** The WebSocket class to open connections with (injected: nothing global is assumed). */
  WebSocket: WebSocketConstructor;
  /**
   * Whether the class takes upgrade headers as `new WebSocket(url, protocols, { headers })`.
   * Default: true for the `ws` package's class (recognised by its `terminate` method), false
   * otherwise. Browsers cannot send headers on the upgrade; there the headers of `open()` are
   * dropped and credentials travel in the protocol's `auth` message only.
   */
  supportsHeaders?: boolean;
  /** Handshake timeout when `open()` gets no `timeoutMs`. Default `DEFAULT_OPEN_TIMEOUT_MS`. */
  openTimeoutMs?: number;
}

/**
 * The raw WebSocket transport's client half: one JSON text frame per message. It opens
 * connections and never reconnects by itself.
 */
export class WsTransport implements Transport {
  readonly name = 'ws';
  private readonly WebSocket: WebSocketConstructor;
  private readonly supportsHeaders: boolean;
  private readonly openTimeoutMs: number;

  constructor(options: WsTransportOptions) {
    if (typeof options?.WebSocket !== 'function')
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'WsTransport needs a WebSocket class');
    this.WebSocket = options.WebSocket;
    this.supportsHeaders = options.supportsHeaders ?? isWsPackageClass(options.WebSocket);
    this.openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  }

  open(url: string, options: TransportOpenOptions = {}): Promise<TransportConnection> {
    const timeoutMs = options.timeoutMs ?? this.openTimeoutMs;
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket =
          options.headers && this.supportsHeaders
            ? new this.WebSocket(url, undefined, { headers: options.headers })
            : new this.WebSocket(url);
      } catch (error) {
        reject(failure(url, 'the WebSocket could not be created', error));
        return;
      }
      // Created before the handshake ends, so its listeners see every frame that follows it.
      const connection = new WebSocketConnection(socket, { holdUntilSubscribed: true });
      let settled = false;
      let lastError: unknown;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const timer = setTimeout(() => {
        settle(() => reject(failure(url, `no handshake within ${timeoutMs} ms`, lastError)));
        // Aborting a socket that is still connecting fires error and close, both expected here.
        socket.close();
      }, timeoutMs);
      socket.addEventListener('open', () => settle(() => resolve(connection)));
      socket.addEventListener('error', (event) => {
        lastError = event;
        settle(() => reject(failure(url, 'the connection failed', causeOf(event))));
      });
      socket.addEventListener('close', (event) => {
        settle(() =>
          reject(failure(url, `closed during the handshake (code ${event.code})`, lastError)),
        );
      });
    });
  }
}

function failure(url: string, why: string, cause: unknown): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.connectionFailed, `cannot open ${url}: ${why}`, {
    cause,
    details: { url },
  });
}

/** `ws` wraps the real error (ECONNREFUSED, bad status) in an ErrorEvent; unwrap it. */
function causeOf(event: unknown): unknown {
  const inner = (event as { error?: unknown } | undefined)?.error;
  return inner instanceof Error ? inner : event;
}

function isWsPackageClass(WebSocket: WebSocketConstructor): boolean {
  const prototype = (WebSocket as { prototype?: { terminate?: unknown } }).prototype;
  return typeof prototype?.terminate === 'function';
}

import type { Server as HttpServer, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Unsubscribe } from '@local-first/core';
import {
  CLOSE_CODES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WS_PATH,
  Emitter,
  type IncomingConnectionInfo,
  type TransportConnection,
  type TransportServer,
} from '@local-first/core/adapter';
import { type WebSocket, WebSocketServer } from 'ws';
import { WebSocketConnection } from '../connection.js';

/** How long `close()` waits for a peer to answer the closing handshake before cutting it. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/** Options of {@link WsTransportServer}; only `server` is required. */
export interface WsTransportServerOptions {
  /**
   * The HTTP(S) server whose `upgrade` events this transport answers (injected; it is neither
   * started nor closed here). Other paths are left to other listeners, so a socket.io server
   * can share the same server and port.
   */
  server: HttpServer;
  /** Path of the endpoint. Default `DEFAULT_WS_PATH` (`/sync`). */
  path?: string;
  /** Largest frame accepted, in bytes; a larger one closes the connection with 1009. */
  maxPayload?: number;
  /** See `DEFAULT_CLOSE_TIMEOUT_MS`. */
  closeTimeoutMs?: number;
}

interface Accepted {
  connection: TransportConnection;
  info: IncomingConnectionInfo;
}

/**
 * The raw WebSocket transport's server half, on `ws` in `noServer` mode: it answers upgrades of
 * its path on the given HTTP server and hands each connection over as a `TransportConnection`.
 */
export class WsTransportServer implements TransportServer {
  readonly name = 'ws';
  private readonly http: HttpServer;
  private readonly path: string;
  private readonly closeTimeoutMs: number;
  private readonly wss: WebSocketServer;
  private readonly accepted = new Emitter<Accepted>();
  /** Each open connection and its socket (no promise per connection: they add up at 10,000). */
  private readonly open = new Map<WebSocketConnection, WebSocket>();
  private closing: Promise<void> | undefined;

  constructor(options: WsTransportServerOptions) {
    this.http = options.server;
    this.path = options.path ?? DEFAULT_WS_PATH;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_FRAME_BYTES,
    });
    this.http.on('upgrade', this.onUpgrade);
  }

  onConnection(
    handler: (connection: TransportConnection, info: IncomingConnectionInfo) => void,
  ): Unsubscribe {
    return this.accepted.subscribe(({ connection, info }) => handler(connection, info));
  }

  close(code: number = CLOSE_CODES.goingAway, reason = 'server shutting down'): Promise<void> {
    this.closing ??= this.shutDown(code, reason);
    return this.closing;
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(request.url) !== this.path) {
      // Another listener (socket.io) may own this path; only when no other listener exists
      // can nobody answer, and then an answer beats a socket left hanging.
      if (this.http.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  };

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const connection = new WebSocketConnection(socket, {
      holdUntilSubscribed: false,
      sharedBytes: true,
      coalesceWrites: true,
    });
    this.open.set(connection, socket);
    connection.onClose(() => this.open.delete(connection));
    this.accepted.emit({
      connection,
      info: {
        headers: flattenHeaders(request.headers),
        remoteAddress: request.socket.remoteAddress,
        transport: this.name,
      },
    });
  }

  private async shutDown(code: number, reason: string): Promise<void> {
    this.http.off('upgrade', this.onUpgrade);
    await Promise.all(
      [...this.open].map(async ([connection, socket]) => {
        const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
        connection.close(code, reason);
        // A peer that never answers the closing handshake must not hold the shutdown.
        const timer = setTimeout(() => socket.terminate(), this.closeTimeoutMs);
        await closed;
        clearTimeout(timer);
      }),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?', 1)[0];
  return path || '/';
}

/** Repeated headers (set-cookie and the like) come as arrays; join them as HTTP would. */
function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) return;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

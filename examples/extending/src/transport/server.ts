import { createServer, type Server, type Socket } from 'node:net';
import type { Unsubscribe } from '@local-first/core';
import {
  CLOSE_CODES,
  DEFAULT_MAX_FRAME_BYTES,
  Emitter,
  type IncomingConnectionInfo,
  type TransportConnection,
  type TransportServer,
} from '@local-first/core/adapter';
import { DEFAULT_CLOSE_TIMEOUT_MS } from './client.js';
import { NdjsonConnection } from './connection.js';

/** A socket that has not sent its `hello` within this long is cut. */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;
/** Where the server listens unless told: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Options of `NdjsonTransportServer`. */
export interface NdjsonTransportServerOptions {
  /** TCP port. Default 0: any free port (read it from `listen()`). */
  port?: number;
  /** Address to listen on. Default `DEFAULT_HOST`. */
  host?: string;
  /**
   * Longest line taken, in bytes; a longer one closes the connection with 1009. Give the
   * engine's `limits.maxFrameBytes`. Default `DEFAULT_MAX_FRAME_BYTES` (1 MiB).
   */
  maxFrameBytes?: number;
  /** See `DEFAULT_HELLO_TIMEOUT_MS`. */
  helloTimeoutMs?: number;
  /** How long `close()` waits for each peer to end its side before cutting it. */
  closeTimeoutMs?: number;
}

interface Accepted {
  connection: TransportConnection;
  info: IncomingConnectionInfo;
}

/**
 * The server half of the NDJSON transport. Unlike the WebSocket half, which answers upgrades on
 * an HTTP server it is given, it owns its TCP listener: a raw TCP port carries one protocol
 * only, so there is nothing to share it with. `node:net` is a Node built-in; nothing heavy is
 * imported. Attach the engine first (`engine.attach(server)`), then `listen()`.
 */
export class NdjsonTransportServer implements TransportServer {
  readonly name = 'ndjson';
  private readonly tcp: Server;
  private readonly accepted = new Emitter<Accepted>();
  /** Sockets whose `hello` has not come yet. */
  private readonly handshaking = new Set<Socket>();
  /** The connections handed over and still open. */
  private readonly open = new Set<NdjsonConnection>();
  private readonly options: Required<NdjsonTransportServerOptions>;
  private closing: Promise<void> | undefined;

  constructor(options: NdjsonTransportServerOptions = {}) {
    this.options = {
      port: options.port ?? 0,
      host: options.host ?? DEFAULT_HOST,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      helloTimeoutMs: options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
      closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    };
    this.tcp = createServer((socket) => this.take(socket));
  }

  /** Starts listening; resolves with the port and the URL clients open (`tcp://host:port`). */
  listen(): Promise<{ port: number; url: string }> {
    const { port, host } = this.options;
    return new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', reject);
        const address = this.tcp.address();
        const bound = typeof address === 'object' && address ? address.port : port;
        const shown = host.includes(':') ? `[${host}]` : host;
        resolve({ port: bound, url: `tcp://${shown}:${bound}` });
      });
    });
  }

  onConnection(
    handler: (connection: TransportConnection, info: IncomingConnectionInfo) => void,
  ): Unsubscribe {
    return this.accepted.subscribe(({ connection, info }) => handler(connection, info));
  }

  /** Stops listening, closes every connection with `code`, and resolves once all are gone. */
  close(code: number = CLOSE_CODES.goingAway, reason = 'server shutting down'): Promise<void> {
    this.closing ??= this.shutDown(code, reason);
    return this.closing;
  }

  private take(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.handshaking.add(socket);
    const connection: NdjsonConnection = new NdjsonConnection(socket, {
      side: 'server',
      maxFrameBytes: this.options.maxFrameBytes,
      closeTimeoutMs: this.options.closeTimeoutMs,
      onOpen: (headers) => {
        clearTimeout(timer);
        this.handshaking.delete(socket);
        this.open.add(connection);
        connection.onClose(() => this.open.delete(connection));
        this.accepted.emit({
          connection,
          info: { headers, remoteAddress: socket.remoteAddress, transport: this.name },
        });
      },
      onRefused: () => {
        clearTimeout(timer);
        this.handshaking.delete(socket);
      },
    });
    const timer = setTimeout(
      () => connection.abort(new Error('no hello in time')),
      this.options.helloTimeoutMs,
    );
  }

  private async shutDown(code: number, reason: string): Promise<void> {
    // The callback runs once the listener is closed and every socket of it has closed.
    const stopped = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const connection of this.open) connection.close(code, reason);
    for (const socket of this.handshaking) socket.destroy();
    await stopped;
  }
}

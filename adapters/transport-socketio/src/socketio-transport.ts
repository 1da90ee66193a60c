import { ERROR_CODES, LocalFirstError, type Transport } from '@local-first/core';
import {
  DEFAULT_SOCKETIO_PATH,
  type TransportConnection,
  type TransportOpenOptions,
} from '@local-first/core/adapter';
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import { SocketIoConnection, type SocketIoPeer } from './connection.js';

/** How long `open()` waits for the socket.io handshake when the caller gives no `timeoutMs`. */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;

/** The `io` function of socket.io-client. */
export type IoFunction = (uri: string, options?: Partial<ManagerOptions & SocketOptions>) => Socket;

/** Options of {@link SocketIoTransport}; only `io` is required. */
export interface SocketIoTransportOptions {
  /** socket.io-client's `io` (injected, so the caller owns its version and bundle). */
  io: IoFunction;
  /** Path of the socket.io endpoint on the server. Default `DEFAULT_SOCKETIO_PATH`. */
  path?: string;
  /** Handshake timeout when `open()` gets no `timeoutMs`. Default `DEFAULT_OPEN_TIMEOUT_MS`. */
  openTimeoutMs?: number;
}

/**
 * The socket.io transport's client half. WebSocket transport only (no long-polling), and
 * socket.io's own reconnection is switched off: reconnecting belongs to the strategy.
 *
 * Headers of `open()` go on the upgrade as `extraHeaders`; in Node they arrive, while browsers
 * cannot set headers on a WebSocket upgrade and drop them.
 */
export class SocketIoTransport implements Transport {
  readonly name = 'socketio';
  private readonly io: IoFunction;
  private readonly path: string;
  private readonly openTimeoutMs: number;

  constructor(options: SocketIoTransportOptions) {
    if (typeof options?.io !== 'function')
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'SocketIoTransport needs io()');
    this.io = options.io;
    this.path = options.path ?? DEFAULT_SOCKETIO_PATH;
    this.openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  }

  /** `url` is the server's origin (`http://host:port`), optionally with a namespace path. */
  open(url: string, options: TransportOpenOptions = {}): Promise<TransportConnection> {
    const timeoutMs = options.timeoutMs ?? this.openTimeoutMs;
    return new Promise((resolve, reject) => {
      let socket: Socket;
      try {
        socket = this.io(url, {
          path: this.path,
          transports: ['websocket'],
          reconnection: false,
          // Each open() is its own connection, never a namespace multiplexed on an older one.
          forceNew: true,
          timeout: timeoutMs,
          ...(options.headers ? { extraHeaders: options.headers } : {}),
        });
      } catch (error) {
        reject(failure(url, 'io() failed', error));
        return;
      }
      // Created before the handshake ends, so its listeners see every event that follows it.
      const connection = new SocketIoConnection(clientPeer(socket), { holdUntilSubscribed: true });
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        outcome();
      };
      const onConnect = () => settle(() => resolve(connection));
      const onError = (error: Error) => {
        settle(() => reject(failure(url, 'the connection failed', error)));
        socket.disconnect();
      };
      const timer = setTimeout(() => {
        settle(() => reject(failure(url, `no handshake within ${timeoutMs} ms`, undefined)));
        socket.disconnect();
      }, timeoutMs);
      socket.on('connect', onConnect);
      socket.on('connect_error', onError);
    });
  }
}

function clientPeer(socket: Socket): SocketIoPeer {
  return {
    connected: () => socket.connected,
    emit: (event, payload) => {
      socket.emit(event, payload);
    },
    disconnect: () => {
      socket.disconnect();
    },
    onEvent: (listener) => {
      socket.onAny((event: string, ...args: unknown[]) => listener(event, args));
    },
    onDisconnect: (listener) => {
      socket.on('disconnect', (reason, details) => listener(reason, details));
    },
  };
}

function failure(url: string, why: string, cause: unknown): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.connectionFailed, `cannot open ${url}: ${why}`, {
    cause,
    details: { url },
  });
}

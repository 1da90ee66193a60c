import type { Server as HttpServer, IncomingHttpHeaders } from 'node:http';
import type { Unsubscribe } from '@local-first/core';
import {
  CLOSE_CODES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SOCKETIO_PATH,
  Emitter,
  type IncomingConnectionInfo,
  type TransportConnection,
  type TransportServer,
} from '@local-first/core/adapter';
import { type Socket, Server as SocketIoServer } from 'socket.io';
import { SocketIoConnection, type SocketIoPeer } from '../connection.js';

/** How long `close()` waits for a peer to go before cutting its engine.io connection. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/** The socket.io `Server` class. */
export type SocketIoServerClass = typeof SocketIoServer;

/** Options of {@link SocketIoTransportServer}; only `server` is required. */
export interface SocketIoTransportServerOptions {
  /**
   * The HTTP(S) server to attach to (injected; it is neither started nor closed here). Upgrades
   * of other paths are left alone, so a `WsTransportServer` can share the server and port.
   */
  server: HttpServer;
  /** The socket.io `Server` class. Default: the one of the `socket.io` package this depends on. */
  Server?: SocketIoServerClass;
  /** Path of the endpoint. Default `DEFAULT_SOCKETIO_PATH` (`/socket.io`). */
  path?: string;
  /** Largest frame accepted, in bytes (`maxHttpBufferSize`); a larger one closes with 1009. */
  maxPayload?: number;
  /** See `DEFAULT_CLOSE_TIMEOUT_MS`. */
  closeTimeoutMs?: number;
}

interface Accepted {
  connection: TransportConnection;
  info: IncomingConnectionInfo;
}

interface Tracked {
  connection: SocketIoConnection;
  socket: Socket;
  closed: Promise<void>;
}

/** The HTTP server events socket.io attaches listeners to, which `close()` takes off again. */
const ATTACHED_EVENTS = ['request', 'upgrade', 'close', 'listening'] as const;

type Listener = (...args: unknown[]) => void;

/**
 * The socket.io transport's server half: a socket.io server on the given HTTP server (WebSocket
 * transport only) whose connections are handed over as `TransportConnection`s.
 */
export class SocketIoTransportServer implements TransportServer {
  readonly name = 'socketio';
  private readonly http: HttpServer;
  private readonly io: SocketIoServer;
  private readonly closeTimeoutMs: number;
  private readonly accepted = new Emitter<Accepted>();
  private readonly open = new Set<Tracked>();
  private readonly restoreHttpServer: () => void;
  private closing: Promise<void> | undefined;

  constructor(options: SocketIoTransportServerOptions) {
    const Server = options.Server ?? SocketIoServer;
    this.http = options.server;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    const before = snapshotListeners(this.http);
    this.io = new Server(this.http, {
      path: options.path ?? DEFAULT_SOCKETIO_PATH,
      transports: ['websocket'],
      serveClient: false,
      maxHttpBufferSize: options.maxPayload ?? DEFAULT_MAX_FRAME_BYTES,
      // By default engine.io ends every upgrade of a path it does not own a second later,
      // which would cut the raw WebSocket endpoint sharing this server.
      destroyUpgrade: false,
    });
    const attached = attachedSince(this.http, before);
    this.restoreHttpServer = () => restoreListeners(this.http, before, attached);
    this.io.on('connection', (socket) => this.accept(socket));
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

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.disconnect(true);
      return;
    }
    const connection = new SocketIoConnection(serverPeer(socket), { holdUntilSubscribed: false });
    const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
    const tracked: Tracked = { connection, socket, closed };
    this.open.add(tracked);
    void closed.then(() => this.open.delete(tracked));
    this.accepted.emit({
      connection,
      info: {
        headers: flattenHeaders(socket.handshake.headers),
        remoteAddress: socket.handshake.address || undefined,
        transport: this.name,
      },
    });
  }

  private async shutDown(code: number, reason: string): Promise<void> {
    // socket.io's own close() would also close the HTTP server, which is not ours to close.
    this.restoreHttpServer();
    await Promise.all(
      [...this.open].map(async ({ connection, socket, closed }) => {
        connection.close(code, reason);
        const timer = setTimeout(() => socket.conn.close(), this.closeTimeoutMs);
        await closed;
        clearTimeout(timer);
      }),
    );
    this.io.engine.close();
  }
}

/** The parts of engine.io's connection that hold output not yet sent. */
interface EngineOutput {
  writeBuffer?: { data?: unknown }[];
  transport?: { socket?: { bufferedAmount?: unknown } };
}

/**
 * What engine.io holds for one connection: the packets waiting for the transport to become
 * writable (socket.io encodes each message to text before it gets there), and what the
 * WebSocket under it has queued. Long-polling holds everything in the first until a poll.
 */
export function engineBufferedBytes(conn: unknown): number {
  const output = conn as EngineOutput;
  let bytes = 0;
  for (const packet of output.writeBuffer ?? []) {
    const { data } = packet;
    if (typeof data === 'string') bytes += data.length;
    else if (data instanceof Uint8Array || data instanceof ArrayBuffer) bytes += data.byteLength;
  }
  const queued = output.transport?.socket?.bufferedAmount;
  return typeof queued === 'number' ? bytes + queued : bytes;
}

function serverPeer(socket: Socket): SocketIoPeer {
  return {
    connected: () => socket.connected,
    bufferedBytes: () => engineBufferedBytes(socket.conn),
    emit: (event, payload) => {
      socket.emit(event, payload);
    },
    disconnect: () => {
      socket.disconnect(true);
    },
    onEvent: (listener) => {
      socket.onAny((event: string, ...args: unknown[]) => listener(event, args));
    },
    onDisconnect: (listener) => {
      socket.on('disconnect', (reason, description) => listener(reason, description));
    },
  };
}

type ListenerSnapshot = Record<(typeof ATTACHED_EVENTS)[number], Listener[]>;

function snapshotListeners(server: HttpServer): ListenerSnapshot {
  const entries = ATTACHED_EVENTS.map((event) => [event, server.listeners(event) as Listener[]]);
  return Object.fromEntries(entries) as ListenerSnapshot;
}

/** The listeners socket.io added, told apart from any that other code adds later. */
function attachedSince(server: HttpServer, before: ListenerSnapshot): ListenerSnapshot {
  const entries = ATTACHED_EVENTS.map((event) => {
    const earlier = new Set(before[event]);
    return [event, (server.listeners(event) as Listener[]).filter((l) => !earlier.has(l))];
  });
  return Object.fromEntries(entries) as ListenerSnapshot;
}

/**
 * Takes off what socket.io attached. For `request` it had also taken the earlier listeners off
 * and called them itself for other paths: those go back in front, in their order.
 */
function restoreListeners(
  server: HttpServer,
  before: ListenerSnapshot,
  attached: ListenerSnapshot,
): void {
  for (const event of ATTACHED_EVENTS) {
    for (const listener of attached[event]) server.off(event, listener);
  }
  const present = server.listeners('request');
  const missing = before.request.filter((listener) => !present.includes(listener));
  for (const listener of missing.reverse()) server.prependListener('request', listener);
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

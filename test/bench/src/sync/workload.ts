/**
 * What the scenarios write and the clients they write with: the same records for our client
 * and for the Yjs peer, our client over either transport, a Yjs client over y-websocket, and
 * light raw connections that speak our protocol (or just listen, for Yjs).
 */
import { LocalFirstClient, Repository, type StorageAdapter } from '@local-first/core';
import { PROTOCOL_VERSION } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { WsTransport } from '@local-first/transport-ws';
import { type SyncActivity, WebSocketSyncStrategy } from '@local-first/websocket';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/** One record of the benchmark: about 120 bytes of JSON. */
export interface BenchRecord {
  [field: string]: string | number | boolean;
  id: string;
  title: string;
  n: number;
  done: boolean;
  owner: string;
}

export function makeRecord(prefix: string, n: number): BenchRecord {
  const id = `${prefix}-${String(n).padStart(7, '0')}`;
  return {
    id,
    title: `record number ${n} of the sync benchmark`,
    n,
    done: n % 3 === 0,
    owner: 'bench-user-0001',
  };
}

export type TransportKind = 'ws' | 'socketio';

/** One device of ours: a client with one repository and a WebSocket strategy. */
export interface OurDevice {
  client: LocalFirstClient;
  repository: Repository<BenchRecord>;
  strategy: WebSocketSyncStrategy;
  /** Resolves at the next `sync_complete` for the repository (the end of a catch-up). */
  syncCompleted(): Promise<void>;
  dispose(): Promise<void>;
}

export interface OurDeviceOptions {
  /** The server's origin, `http://127.0.0.1:PORT`. */
  origin: string;
  transport: TransportKind;
  repository: string;
  storage?: StorageAdapter;
}

/** Creates and initializes a device; `start()` of its client connects it. */
export async function createOurDevice(options: OurDeviceOptions): Promise<OurDevice> {
  const repository = new Repository<BenchRecord>({ name: options.repository });
  const strategy = new WebSocketSyncStrategy(
    options.transport === 'ws'
      ? {
          websocketUrl: `${options.origin.replace(/^http/, 'ws')}/sync`,
          transport: new WsTransport({ WebSocket }),
        }
      : { websocketUrl: options.origin, transport: new SocketIoTransport({ io }) },
  );
  const client = new LocalFirstClient({
    repositories: [repository],
    localStorage: options.storage ?? new MemoryStorageAdapter(),
    syncStrategies: [strategy],
  });
  await client.initialize();
  return {
    client,
    repository,
    strategy,
    syncCompleted: () =>
      new Promise<void>((resolve) => {
        const stop = strategy.activityChanges.subscribe((activity: SyncActivity) => {
          if (activity.type === 'sync_complete' && activity.repository === options.repository) {
            stop();
            resolve();
          }
        });
      }),
    dispose: () => client.dispose(),
  };
}

/** Starts a device and waits until its first catch-up is complete. */
export async function connectOurDevice(options: OurDeviceOptions): Promise<OurDevice> {
  const device = await createOurDevice(options);
  const caughtUp = device.syncCompleted();
  await device.client.start();
  await caughtUp;
  return device;
}

/** One Yjs client: a Y.Doc with a Y.Map of records, synced by y-websocket. */
export interface YjsDevice {
  doc: Y.Doc;
  map: Y.Map<BenchRecord>;
  provider: WebsocketProvider;
  dispose(): void;
}

/**
 * Creates a Yjs client; it is synced with the server when the promise resolves. `prepare` sees
 * the document before it connects (to observe it from the first update on).
 */
export async function connectYjsDevice(
  url: string,
  room: string,
  prepare?: (doc: Y.Doc) => void,
): Promise<YjsDevice> {
  const doc = new Y.Doc();
  prepare?.(doc);
  const provider = new WebsocketProvider(url, room, doc, {
    // Node has no global WebSocket in the y-websocket sense; without disableBc two clients of
    // one process would talk over BroadcastChannel and bypass the server.
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  await new Promise<void>((resolve) => {
    const onSync = (synced: boolean) => {
      if (!synced) return;
      provider.off('sync', onSync);
      resolve();
    };
    provider.on('sync', onSync);
  });
  return {
    doc,
    map: doc.getMap<BenchRecord>('records'),
    provider,
    dispose: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** A y-websocket frame that carries a document update (messageSync, then messageYjsUpdate). */
export function isYjsUpdateFrame(data: Uint8Array): boolean {
  return data.length > 2 && data[0] === 0 && data[1] === 2;
}

/**
 * A raw connection speaking our protocol: authenticated, answering pings, handing every
 * server message to `onMessage`. Lighter than a whole client, for fan-out and idle memory.
 * Once authenticated, `onFrame` sees each frame first and may take it without decoding (it
 * returns true), as the Yjs listeners recognise their frames by their first bytes.
 */
export function openRawSession(
  wsUrl: string,
  clientId: string,
  onMessage: (message: { type: string; [field: string]: unknown }) => void,
  onFrame?: (data: Buffer) => boolean,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl);
    let authenticated = false;
    socket.on('error', (error) => {
      if (!authenticated) reject(error);
    });
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'auth', protocol: PROTOCOL_VERSION, clientId })),
    );
    socket.on('message', (data: Buffer) => {
      if (authenticated && onFrame?.(data)) return;
      const message = JSON.parse(String(data)) as { type: string; [field: string]: unknown };
      if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
        return;
      }
      if (message.type === 'auth_success' && !authenticated) {
        authenticated = true;
        resolve(socket);
        return;
      }
      if (message.type === 'auth_failed') reject(new Error(`auth failed: ${String(message.code)}`));
      onMessage(message);
    });
  });
}

/** A raw WebSocket connection to a Yjs room that only listens; resolves at its first frame. */
export function openYjsListener(
  url: string,
  room: string,
  onFrame: (data: Uint8Array) => void,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}/${room}`);
    let ready = false;
    socket.binaryType = 'nodebuffer';
    socket.on('error', (error) => {
      if (!ready) reject(error);
    });
    socket.on('message', (data: Buffer) => {
      if (!ready) {
        ready = true;
        resolve(socket);
      }
      onFrame(data);
    });
  });
}

/** Closes sockets and waits until they are closed. */
export async function closeSockets(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
          socket.close();
        }),
    ),
  );
}

/** Opens `count` connections, at most `parallel` handshakes at a time. */
export async function openMany<T>(
  count: number,
  parallel: number,
  open: (index: number) => Promise<T>,
): Promise<T[]> {
  const opened: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const index = next++;
        opened[index] = await open(index);
      }
    }),
  );
  return opened;
}

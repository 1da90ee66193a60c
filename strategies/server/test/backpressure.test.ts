import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@local-first/core';
import type {
  IncomingConnectionInfo,
  TransportConnection,
  TransportServer,
} from '@local-first/core/adapter';
import { SqliteEventStore } from '@local-first/store-sqlite';
import { SocketIoTransportServer } from '@local-first/transport-socketio/server';
import { WsTransportServer } from '@local-first/transport-ws/server';
import { io } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SyncEngine, staticTokens } from '../src/engine/index.js';

// A reader that stops reading its socket while another client writes: the server must hold no
// more than its high-water mark for it, skip it for live events, tell it `lagging` once it
// reads again, and then serve it every event from its cursor. Real sockets and a real SQLite
// file: the kernel's buffers fill first, then the server's own queue, as in the field.

const HIGH_WATER = 64 * 1024;
/** Enough to fill the loopback socket buffers of both ends several times over. */
const EVENTS = 6_000;
const BATCH = 100;
const PAYLOAD = 'x'.repeat(3_500);
const MAX_FRAME = 1024 * 1024;

type Message = { type: string } & Record<string, unknown>;

/** Watches what the server queues for each connection, as a real transport reports it. */
class Watched implements TransportServer {
  readonly name: string;
  readonly connections: {
    connection: TransportConnection;
    maxBuffered: number;
    live: number;
    frames: number;
  }[] = [];

  constructor(private readonly inner: TransportServer) {
    this.name = inner.name;
  }

  onConnection(
    handler: (connection: TransportConnection, info: IncomingConnectionInfo) => void,
  ): () => void {
    return this.inner.onConnection((connection, info) => {
      const stats = { connection, maxBuffered: 0, live: 0, frames: 0 };
      this.connections.push(stats);
      const send = connection.send.bind(connection);
      connection.send = (message: object) => {
        send(message);
        const { type, requestId } = message as Message;
        stats.frames += 1;
        if (type === 'events' && requestId === undefined) stats.live += 1;
        stats.maxBuffered = Math.max(stats.maxBuffered, connection.bufferedBytes ?? 0);
      };
      handler(connection, info);
    });
  }

  close(code?: number, reason?: string): Promise<void> {
    return this.inner.close(code, reason);
  }
}

/** A raw protocol client whose reading can be paused at the socket. */
interface RawClient {
  send(message: object): void;
  /** Every message so far, in order. */
  readonly received: Message[];
  /** The next message that matches, already received or to come. */
  next(matches: (message: Message) => boolean, what: string): Promise<Message>;
  pause(): void;
  resume(): void;
  close(): void;
}

function rawClient(
  subscribe: (listener: (message: Message) => void, onClose: (why: string) => void) => void,
  send: (message: object) => void,
  socket: () => NetSocket,
  close: () => void,
): RawClient {
  const received: Message[] = [];
  const waiters: { matches: (message: Message) => boolean; resolve: (m: Message) => void }[] = [];
  let taken = 0;
  let closed = 'open';
  subscribe(
    (message) => {
      received.push(message);
      for (const waiter of [...waiters]) {
        if (waiter.matches(message)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    },
    (why) => {
      closed = `closed (${why})`;
    },
  );
  return {
    send,
    received,
    next(matches, what) {
      const found = received.slice(taken).find(matches);
      if (found) {
        taken = received.indexOf(found) + 1;
        return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const types = received.map((message) => message.type);
          reject(
            new Error(
              `no ${what} after 10 s; ${received.length} messages arrived, the last ones: ${types.slice(-8).join(', ')}; the connection is ${closed}`,
            ),
          );
        }, 10_000);
        waiters.push({
          matches,
          resolve: (message) => {
            clearTimeout(timer);
            taken = received.indexOf(message) + 1;
            resolve(message);
          },
        });
      });
    },
    pause: () => socket().pause(),
    resume: () => socket().resume(),
    close,
  };
}

async function openWs(url: string): Promise<RawClient> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/sync`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return rawClient(
    (listener, onClose) => {
      ws.on('message', (data) => listener(JSON.parse(String(data)) as Message));
      ws.on('close', (code, reason) => onClose(`${code} ${reason}`));
    },
    (message) => ws.send(JSON.stringify(message)),
    () => (ws as unknown as { _socket: NetSocket })._socket,
    () => ws.terminate(),
  );
}

async function openSocketIo(url: string): Promise<RawClient> {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  await new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', reject);
  });
  // socket.io-client in Node runs its websocket transport over `ws`.
  const engine = socket.io.engine as unknown as { transport: { ws: { _socket: NetSocket } } };
  return rawClient(
    (listener, onClose) => {
      socket.on('message', (message: Message) => listener(message));
      socket.on('disconnect', (reason) => onClose(reason));
    },
    (message) => socket.emit('message', message),
    () => engine.transport.ws._socket,
    () => socket.disconnect(),
  );
}

function event(index: number) {
  const id = `e${index}`;
  return {
    eventId: id,
    operation: 0,
    createdAt: new Date().toISOString(),
    dataId: id,
    data: { id, payload: PAYLOAD },
  };
}

async function authenticated(client: RawClient, token: string): Promise<void> {
  client.send({ type: 'auth', token });
  await client.next((message) => message.type === 'auth_success', 'auth_success');
}

/** Ids the reader has: live events and catch-up pages alike. */
function idsOf(messages: readonly Message[]): Set<string> {
  const ids = new Set<string>();
  for (const message of messages) {
    if (message.type !== 'events') continue;
    for (const stored of message.events as { eventId: string }[]) ids.add(stored.eventId);
  }
  return ids;
}

const TRANSPORTS = [
  { name: 'ws', open: openWs },
  { name: 'socketio', open: openSocketIo },
] as const;

describe.each(TRANSPORTS)('a reader that stops reading, over $name', ({ name, open }) => {
  let directory: string;
  let store: SqliteEventStore;
  let http: Server;
  let engine: SyncEngine;
  let watched: Watched;
  let url: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lf-backpressure-'));
    store = new SqliteEventStore({ path: join(directory, 'events.db') });
    await store.open();
    http = createServer();
    engine = new SyncEngine({
      store,
      authenticator: staticTokens({ 'token-writer': 'writer', 'token-reader': 'reader' }),
      logger: silentLogger,
      limits: { sendHighWaterBytes: HIGH_WATER, lagCheckIntervalMs: 20, maxFrameBytes: MAX_FRAME },
    });
    const inner =
      name === 'ws'
        ? new WsTransportServer({ server: http, maxPayload: MAX_FRAME })
        : new SocketIoTransportServer({ server: http, maxPayload: MAX_FRAME });
    watched = new Watched(inner);
    engine.attach(watched);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await engine.close();
    await new Promise((resolve) => http.close(resolve));
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('is skipped for live events, holds the server to its mark, is told lagging, and catches up with every event', {
    timeout: 60_000,
  }, async () => {
    const reader = await open(url);
    await authenticated(reader, 'token-reader');
    reader.send({ type: 'request_events', repository: 'notes', afterSequence: 0 });
    await reader.next((message) => message.type === 'sync_complete', 'the first sync_complete');
    const readerStats = watched.connections[0]!;
    reader.pause();

    const writer = await open(url);
    await authenticated(writer, 'token-writer');
    for (let first = 0; first < EVENTS; first += BATCH) {
      const events = Array.from({ length: BATCH }, (_, offset) => event(first + offset));
      writer.send({
        type: 'push_events_batch',
        repository: 'notes',
        requestId: `p${first}`,
        events,
      });
      await writer.next((message) => message.type === 'ack', `the ack of push p${first}`);
    }

    // Held back: fewer live events than pushes went out, and the queue stayed near the mark
    // (one frame over it at most: each is let through only while the queue is under it).
    const pushes = EVENTS / BATCH;
    expect(readerStats.live).toBeLessThan(pushes);
    const frameBytes = JSON.stringify({ events: [event(0)] }).length * BATCH + 1_000;
    expect(readerStats.maxBuffered).toBeLessThanOrEqual(HIGH_WATER + frameBytes);
    expect(readerStats.connection.isOpen).toBe(true);

    reader.resume();
    await reader.next(
      (message) => message.type === 'lagging' && message.repository === 'notes',
      'lagging for notes',
    );
    // The client's part: catch up from the last sequence it holds without a gap.
    const before = idsOf(reader.received);
    let cursor = 0;
    for (const message of reader.received) {
      if (message.type !== 'events') continue;
      for (const stored of message.events as { serverSequence: number }[])
        if (stored.serverSequence === cursor + 1) cursor += 1;
    }
    reader.send({
      type: 'request_events',
      repository: 'notes',
      afterSequence: cursor,
      requestId: 'c',
    });
    await reader.next(
      (message) => message.type === 'sync_complete' && message.requestId === 'c',
      'the catch-up sync_complete',
    );
    const after = idsOf(reader.received);
    const missing = Array.from({ length: EVENTS }, (_, index) => `e${index}`).filter(
      (id) => !after.has(id),
    );
    expect(
      { missing: missing.length, firstMissing: missing.slice(0, 5) },
      `live before lagging: ${before.size} of ${EVENTS}; cursor ${cursor}`,
    ).toEqual({ missing: 0, firstMissing: [] });
    writer.close();
    reader.close();
  });
});

import type { Server as HttpServer } from 'node:http';
import type {
  CloseInfo,
  IncomingConnectionInfo,
  TransportConnection,
} from '@local-first/core/adapter';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ABNORMAL_CLOSE_CODE, CLOSE_REASON_EVENT, SocketIoTransport } from '../src/index.js';
import { SocketIoTransportServer } from '../src/server/index.js';
import { listen, stopHttp } from './setup.js';

function closedInfo(connection: TransportConnection): Promise<CloseInfo> {
  return new Promise((resolve) => connection.onClose(resolve));
}

/** Records a connection's messages and problems; `until` awaits a count of them. */
function record(connection: TransportConnection) {
  const seen: Array<{ message: unknown } | { problem: string }> = [];
  const waiters = new Set<() => void>();
  const push = (entry: (typeof seen)[number]) => {
    seen.push(entry);
    for (const waiter of [...waiters]) waiter();
  };
  connection.onMessage((message) => push({ message }));
  connection.onInvalidMessage((problem) => push({ problem: problem.code }));
  const until = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (seen.length < count) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return { seen, until };
}

describe('the close_reason convention and raw socket.io peers', () => {
  let http: HttpServer;
  let url: string;
  const cleanups: Array<() => unknown> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await stopHttp(http);
  });

  /** The server half, and the first connection it accepts once a client is opened. */
  async function serverHalf() {
    let port: number;
    ({ http, port } = await listen());
    url = `http://127.0.0.1:${port}`;
    const server = new SocketIoTransportServer({ server: http });
    cleanups.push(() => server.close());
    const accepted = new Promise<{ connection: TransportConnection; info: IncomingConnectionInfo }>(
      (resolve) => server.onConnection((connection, info) => resolve({ connection, info })),
    );
    return { server, accepted };
  }

  async function rawClient(): Promise<Socket> {
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    cleanups.push(() => socket.disconnect());
    await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
    return socket;
  }

  it('announces a server close as a close_reason event before the disconnect', async () => {
    const { accepted } = await serverHalf();
    const socket = await rawClient();
    const { connection } = await accepted;
    const events: unknown[] = [];
    const disconnected = new Promise((resolve) => socket.once('disconnect', resolve));
    socket.on(CLOSE_REASON_EVENT, (payload) => events.push(payload));
    connection.close(4401, 'invalid_token');
    await disconnected;
    expect(events).toEqual([{ code: 4401, reason: 'invalid_token' }]);
  });

  it("reports a peer's close_reason as its close code", async () => {
    const { accepted } = await serverHalf();
    const socket = await rawClient();
    const { connection } = await accepted;
    const closed = closedInfo(connection);
    socket.emit(CLOSE_REASON_EVENT, { code: 4000, reason: 'switching user' });
    socket.disconnect();
    expect(await closed).toEqual({ code: 4000, reason: 'switching user' });
  });

  it('reports a disconnect without close_reason as 1000 when deliberate', async () => {
    const { accepted } = await serverHalf();
    const socket = await rawClient();
    const { connection } = await accepted;
    const closed = closedInfo(connection);
    socket.disconnect();
    expect((await closed).code).toBe(1000);
  });

  it('reports a dropped link as 1006', async () => {
    const { accepted } = await serverHalf();
    const socket = await rawClient();
    const { connection } = await accepted;
    const closed = closedInfo(connection);
    socket.io.engine.close();
    expect((await closed).code).toBe(ABNORMAL_CLOSE_CODE);
  });

  it('reports events other than message as invalid, and stays open', async () => {
    const { accepted } = await serverHalf();
    const socket = await rawClient();
    const { connection } = await accepted;
    const { seen, until } = record(connection);
    socket.emit('hello', { type: 'ping' });
    socket.send('{"type":"ping"}');
    await until(2);
    expect(seen).toEqual([{ problem: 'invalid_message' }, { message: { type: 'ping' } }]);
    expect(connection.isOpen).toBe(true);
  });

  it('on the client, reports what a server sends that is not a JSON object', async () => {
    let port: number;
    ({ http, port } = await listen());
    const io_ = new Server(http, { transports: ['websocket'] });
    cleanups.push(() => io_.disconnectSockets(true));
    io_.on('connection', (socket) => {
      socket.send('not json');
      socket.send(42);
      socket.send([{ type: 'ping' }]);
      socket.emit('other', {});
      socket.send('{"type":"pong"}');
    });
    const connection = await new SocketIoTransport({ io }).open(`http://127.0.0.1:${port}`);
    cleanups.push(() => connection.close());
    const { seen, until } = record(connection);
    await until(5);
    expect(seen).toEqual([
      ...Array.from({ length: 4 }, () => ({ problem: 'invalid_message' })),
      { message: { type: 'pong' } },
    ]);
    expect(connection.isOpen).toBe(true);
  });
});

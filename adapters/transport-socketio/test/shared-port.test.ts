import type { Server } from 'node:http';
import type { TransportConnection, TransportServer } from '@local-first/core/adapter';
import { WsTransport } from '@local-first/transport-ws';
import { WsTransportServer } from '@local-first/transport-ws/server';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SocketIoTransport } from '../src/index.js';
import { SocketIoTransportServer } from '../src/server/index.js';
import { listen, stopHttp } from './setup.js';

/**
 * engine.io's default `destroyUpgradeTimeout`: with `destroyUpgrade` on, it ends every upgrade
 * of a path it does not own that is still unanswered after this long.
 */
const ENGINE_IO_DESTROY_UPGRADE_MS = 1000;

/** Path of an upgrade handler that answers late, like one that authenticates before upgrading. */
const LATE_PATH = '/late';

/** The first message a connection receives. */
function nextMessage(connection: TransportConnection): Promise<unknown> {
  return new Promise((resolve) => {
    const stop = connection.onMessage((message) => {
      stop();
      resolve(message);
    });
  });
}

/** Answers every message on every accepted connection with an echo naming the server half. */
function echo(server: TransportServer): void {
  server.onConnection((connection) =>
    connection.onMessage((message) => connection.send({ type: 'echo', via: server.name, message })),
  );
}

describe('one HTTP server carrying both server halves', () => {
  let http: Server;
  const halves: TransportServer[] = [];
  const clients: TransportConnection[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(halves.splice(0).map((half) => half.close()));
    await stopHttp(http);
  });

  it('serves ws and socket.io clients on one port and leaves late upgrades of other paths alone', async () => {
    let port: number;
    ({ http, port } = await listen());
    // socket.io first: it is the one that could end upgrades of paths it does not own.
    const socketIo = new SocketIoTransportServer({ server: http });
    const ws = new WsTransportServer({ server: http });
    halves.push(socketIo, ws);
    echo(socketIo);
    echo(ws);

    const wsClient = await new WsTransport({ WebSocket }).open(`ws://127.0.0.1:${port}/sync`);
    const ioClient = await new SocketIoTransport({ io }).open(`http://127.0.0.1:${port}`);
    clients.push(wsClient, ioClient);

    const first = [nextMessage(wsClient), nextMessage(ioClient)];
    wsClient.send({ type: 'ping', n: 1 });
    ioClient.send({ type: 'ping', n: 1 });
    expect(await Promise.all(first)).toEqual([
      { type: 'echo', via: 'ws', message: { type: 'ping', n: 1 } },
      { type: 'echo', via: 'socketio', message: { type: 'ping', n: 1 } },
    ]);

    // A third owner of the server answers its upgrades only after engine.io's timer would have
    // fired. This is the one wait on a clock in these suites: what is under test is that nothing
    // happens when that timer fires, and only passing that moment can show it.
    const late = new WebSocketServer({ noServer: true });
    http.on('upgrade', (request, socket, head) => {
      if (request.url !== LATE_PATH) return;
      setTimeout(
        () => late.handleUpgrade(request, socket, head, (peer) => peer.send('late hello')),
        ENGINE_IO_DESTROY_UPGRADE_MS + 100,
      );
    });
    const lateClient = new WebSocket(`ws://127.0.0.1:${port}${LATE_PATH}`);
    const greeting = await new Promise<string>((resolve, reject) => {
      lateClient.once('message', (data) => resolve(String(data)));
      lateClient.once('error', (error) =>
        reject(new Error('the late upgrade was cut', { cause: error })),
      );
    });
    lateClient.close();
    late.close();
    expect(greeting).toBe('late hello');

    const second = [nextMessage(wsClient), nextMessage(ioClient)];
    wsClient.send({ type: 'ping', n: 2 });
    ioClient.send({ type: 'ping', n: 2 });
    expect(await Promise.all(second)).toEqual([
      { type: 'echo', via: 'ws', message: { type: 'ping', n: 2 } },
      { type: 'echo', via: 'socketio', message: { type: 'ping', n: 2 } },
    ]);
    expect(wsClient.isOpen).toBe(true);
    expect(ioClient.isOpen).toBe(true);
  });
});

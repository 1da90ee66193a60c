import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawPeer, TransportSetup } from '@local-first/contract';
import { io } from 'socket.io-client';
import { SocketIoTransport } from '../src/index.js';
import { SocketIoTransportServer } from '../src/server/index.js';

/** Small enough that the oversized-frame test sends little; large enough for 512 KiB. */
export const TEST_MAX_FRAME_BYTES = 768 * 1024;

/** An HTTP server on a free loopback port that answers plain requests with 404, as an app would. */
export async function listen(): Promise<{ http: Server; port: number }> {
  const http = createServer((_request, response) => {
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { http, port: (http.address() as AddressInfo).port };
}

export async function stopHttp(http: Server): Promise<void> {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
}

/** A bare socket.io client that emits `message` with whatever it is given. */
export async function openRawSocketIo(url: string): Promise<RawPeer> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return {
    sendText: (text) => socket.send(text),
    sendBinary: (bytes) => socket.send(Buffer.from(bytes)),
    close: async () => {
      socket.disconnect();
    },
  };
}

export async function socketIoSetup(): Promise<TransportSetup> {
  const { http, port } = await listen();
  const server = new SocketIoTransportServer({ server: http, maxPayload: TEST_MAX_FRAME_BYTES });
  const url = `http://127.0.0.1:${port}`;
  return {
    transport: new SocketIoTransport({ io }),
    url,
    server,
    maxFrameBytes: TEST_MAX_FRAME_BYTES,
    openRaw: () => openRawSocketIo(url),
    teardown: async () => {
      await server.close();
      await stopHttp(http);
    },
  };
}

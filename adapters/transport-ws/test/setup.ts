import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawPeer, TransportSetup } from '@local-first/contract';
import WebSocket from 'ws';
import { WsTransport } from '../src/index.js';
import { WsTransportServer } from '../src/server/index.js';

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

/** A plain `ws` client that sends frames as they are. */
export async function openRawWs(url: string): Promise<RawPeer & { socket: WebSocket }> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    sendText: (text) => socket.send(text),
    sendBinary: (bytes) => socket.send(bytes, { binary: true }),
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.close();
      await closed;
    },
  };
}

export async function wsSetup(): Promise<TransportSetup> {
  const { http, port } = await listen();
  const server = new WsTransportServer({ server: http, maxPayload: TEST_MAX_FRAME_BYTES });
  const url = `ws://127.0.0.1:${port}/sync`;
  return {
    transport: new WsTransport({ WebSocket }),
    url,
    server,
    maxFrameBytes: TEST_MAX_FRAME_BYTES,
    openRaw: () => openRawWs(url),
    teardown: async () => {
      await server.close();
      await stopHttp(http);
    },
  };
}

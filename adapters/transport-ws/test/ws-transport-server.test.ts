import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createLocalFirstContainer, TOKENS } from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WsTransportServer, wsTransportServerModule } from '../src/server/index.js';
import { listen, stopHttp } from './setup.js';

/** Opens a plain ws client and resolves with how the attempt ended. */
function attempt(url: string): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve({ opened: false, status: response.statusCode });
      socket.terminate();
    });
    socket.once('error', () => resolve({ opened: false }));
  });
}

describe('WsTransportServer', () => {
  let http: Server;
  let port: number;
  const servers: TransportServer[] = [];

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await stopHttp(http);
  });

  async function start(options: { path?: string } = {}): Promise<WsTransportServer> {
    ({ http, port } = await listen());
    const server = new WsTransportServer({ server: http, ...options });
    servers.push(server);
    return server;
  }

  it('answers its own path only, and a custom path when told', async () => {
    await start({ path: '/custom' });
    expect(await attempt(`ws://127.0.0.1:${port}/custom?token=1`)).toEqual({ opened: true });
    expect(await attempt(`ws://127.0.0.1:${port}/sync`)).toEqual({ opened: false, status: 404 });
  });

  it('leaves upgrades of other paths to the other upgrade listeners', async () => {
    await start();
    const claimed: string[] = [];
    // Another owner of the HTTP server: it takes /other and answers it itself.
    const other = (request: IncomingMessage, socket: Duplex) => {
      if (request.url !== '/other') return;
      claimed.push(request.url);
      socket.end('HTTP/1.1 418 Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    };
    http.on('upgrade', other);
    expect(await attempt(`ws://127.0.0.1:${port}/other`)).toEqual({ opened: false, status: 418 });
    expect(claimed).toEqual(['/other']);
    expect(await attempt(`ws://127.0.0.1:${port}/sync`)).toEqual({ opened: true });
  });

  it('takes its listener off the HTTP server when it closes', async () => {
    const server = await start();
    expect(http.listenerCount('upgrade')).toBe(1);
    await server.close();
    expect(http.listenerCount('upgrade')).toBe(0);
    expect(await server.close()).toBeUndefined();
  });

  it("holds a task's writes back together and lets them go once its promise reactions ran, not a turn later", async () => {
    const server = await start();
    const corked: number[] = [];
    server.onConnection((connection) => {
      connection.onMessage(() => {
        const tcp = (connection as unknown as { socket: { _socket: { writableCorked: number } } })
          .socket._socket;
        // As a server session answers: in promise reactions.
        void Promise.resolve().then(() => {
          connection.send({ type: 'first' });
          corked.push(tcp.writableCorked);
          // Queued after the uncork: it runs once the reactions below have run. With the uncork
          // on the next turn of the event loop (setImmediate), the socket is still held then.
          process.nextTick(() => corked.push(tcp.writableCorked));
          // A reply a later reaction sends joins the same write.
          return Promise.resolve().then(() => connection.send({ type: 'second' }));
        });
      });
    });
    const client = new WebSocket(`ws://127.0.0.1:${port}/sync`);
    const received: string[] = [];
    const both = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        received.push(JSON.parse(String(data)).type);
        if (received.length === 2) resolve();
      }),
    );
    await new Promise((resolve) => client.once('open', resolve));
    client.send(JSON.stringify({ type: 'ping' }));
    await both;
    client.close();
    expect({ received, corked }).toEqual({ received: ['first', 'second'], corked: [1, 0] });
  });

  it('binds the server half as a transport server of the container', async () => {
    ({ http, port } = await listen());
    const container = createLocalFirstContainer(wsTransportServerModule({ server: http }));
    const bound = container.getAll<TransportServer>(TOKENS.TransportServer);
    expect(bound).toHaveLength(1);
    expect(bound[0]).toBeInstanceOf(WsTransportServer);
    expect(container.getAll<TransportServer>(TOKENS.TransportServer)[0]).toBe(bound[0]);
    servers.push(bound[0]!);
  });
});

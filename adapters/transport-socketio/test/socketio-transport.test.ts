import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createLocalFirstContainer, ERROR_CODES, TOKENS } from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketIoConnection } from '../src/connection.js';
import { type IoFunction, SocketIoTransport, socketIoTransportModule } from '../src/index.js';
import { SocketIoTransportServer, socketIoTransportServerModule } from '../src/server/index.js';
import { listen, stopHttp } from './setup.js';

/** An io() double: records its arguments, hands back a socket that never connects. */
function recordingIo(): { io: IoFunction; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const socket = {
    connected: false,
    on: () => socket,
    off: () => socket,
    onAny: () => socket,
    emit: () => socket,
    disconnect: () => socket,
  };
  return {
    calls,
    io: (...args) => {
      calls.push(args);
      return socket as unknown as Socket;
    },
  };
}

describe('SocketIoTransport', () => {
  it('requires io()', () => {
    expect(() => new SocketIoTransport({} as { io: IoFunction })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.invalidArgument }),
    );
  });

  it('asks socket.io for the WebSocket transport only, no reconnection, a fresh manager', async () => {
    const { io: fake, calls } = recordingIo();
    const transport = new SocketIoTransport({ io: fake, path: '/rt' });
    const opening = transport.open('http://h:1', { headers: { 'X-A': 'b' }, timeoutMs: 1 });
    await expect(opening).rejects.toMatchObject({ code: ERROR_CODES.connectionFailed });
    expect(calls).toEqual([
      [
        'http://h:1',
        {
          path: '/rt',
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
          timeout: 1,
          extraHeaders: { 'X-A': 'b' },
        },
      ],
    ]);
  });

  it('binds one transport for the container', () => {
    const container = createLocalFirstContainer(socketIoTransportModule({ io }));
    const transport = container.get(TOKENS.Transport);
    expect(transport).toBeInstanceOf(SocketIoTransport);
    expect(container.get(TOKENS.Transport)).toBe(transport);
  });
});

describe('SocketIoTransportServer', () => {
  let http: HttpServer;

  afterEach(() => stopHttp(http));

  it('gives the HTTP server back as it found it when it closes', async () => {
    ({ http } = await listen());
    const original = http.listeners('request');
    const counts = () =>
      ['request', 'upgrade', 'close', 'listening'].map((event) => http.listenerCount(event));
    const before = counts();
    const server = new SocketIoTransportServer({ server: http });
    // Added after socket.io: must survive its close().
    const later = (_request: IncomingMessage, _response: ServerResponse) => {};
    http.on('upgrade', later);
    expect(http.listeners('request')).not.toEqual(original);
    await server.close();
    expect(http.listeners('request')).toEqual(original);
    expect(http.listeners('upgrade')).toEqual([later]);
    http.off('upgrade', later);
    expect(counts()).toEqual(before);
  });

  it('uses an injected socket.io Server class', async () => {
    ({ http } = await listen());
    const { Server } = await import('socket.io');
    const made: unknown[] = [];
    class CountingServer extends Server {
      constructor(...args: ConstructorParameters<typeof Server>) {
        super(...args);
        made.push(args[1]);
      }
    }
    const server = new SocketIoTransportServer({
      server: http,
      Server: CountingServer,
      path: '/x',
    });
    await server.close();
    expect(made).toEqual([expect.objectContaining({ path: '/x', destroyUpgrade: false })]);
  });

  it('binds the server half as a transport server of the container', async () => {
    ({ http } = await listen());
    const container = createLocalFirstContainer(socketIoTransportServerModule({ server: http }));
    const bound = container.getAll<TransportServer>(TOKENS.TransportServer);
    expect(bound).toHaveLength(1);
    expect(bound[0]).toBeInstanceOf(SocketIoTransportServer);
    expect(container.getAll<TransportServer>(TOKENS.TransportServer)[0]).toBe(bound[0]);
    await bound[0]!.close();
  });
});

describe('SocketIoConnection errors', () => {
  it('reports a transport error on onError as connection_failed, the error as the cause', async () => {
    let disconnect: (reason: string, details: unknown) => void = () => {};
    const connection = new SocketIoConnection(
      {
        connected: () => true,
        emit: () => {},
        disconnect: () => {},
        onEvent: () => {},
        onDisconnect: (listener) => {
          disconnect = listener;
        },
      },
      { holdUntilSubscribed: false },
    );
    const reported = new Promise<Error>((resolve) => connection.onError(resolve));
    const cause = new Error('websocket error');
    disconnect('transport error', cause);
    const error = await reported;
    expect(error).toMatchObject({ code: ERROR_CODES.connectionFailed, message: 'websocket error' });
    expect(error.cause).toBe(cause);
  });
});

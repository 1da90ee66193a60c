import type { Server } from 'node:http';
import {
  createLocalFirstContainer,
  ERROR_CODES,
  type LocalFirstError,
  TOKENS,
} from '@local-first/core';
import { CLOSE_CODES, type TransportConnection } from '@local-first/core/adapter';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  type WebSocketConstructor,
  type WebSocketLike,
  WsTransport,
  wsTransportModule,
} from '../src/index.js';
import { listen, stopHttp } from './setup.js';

// Compile-time check: the browser's WebSocket class can be injected as it is.
const _browserClassFits = (ctor: typeof globalThis.WebSocket): WebSocketConstructor => ctor;

/** A WebSocket double that records how it was built and never connects. */
class RecordingSocket implements WebSocketLike {
  static created: unknown[][] = [];
  readonly readyState: number = 0;
  constructor(...args: unknown[]) {
    RecordingSocket.created.push(args);
  }
  send(): void {}
  close(_code?: number, _reason?: string): void {}
  addEventListener(_type: string, _listener: (...args: never[]) => void): void {}
}

async function failureOf(promise: Promise<unknown>): Promise<LocalFirstError> {
  try {
    await promise;
  } catch (error) {
    return error as LocalFirstError;
  }
  throw new Error('expected a rejection');
}

describe('WsTransport', () => {
  let http: Server | undefined;
  let raw: WebSocketServer | undefined;
  const opened: TransportConnection[] = [];

  afterEach(async () => {
    for (const connection of opened.splice(0)) connection.close();
    if (raw) await new Promise((resolve) => raw!.close(resolve));
    if (http) await stopHttp(http);
    raw = undefined;
    http = undefined;
  });

  /** A bare `ws` server that sends `frames` to each client as soon as it connects. */
  async function rawServer(frames: Array<string | Buffer>): Promise<string> {
    const listening = await listen();
    http = listening.http;
    raw = new WebSocketServer({ server: http });
    raw.on('connection', (socket) => {
      for (const frame of frames) socket.send(frame, { binary: typeof frame !== 'string' });
    });
    return `ws://127.0.0.1:${listening.port}`;
  }

  it('requires a WebSocket class', () => {
    expect(() => new WsTransport({} as { WebSocket: WebSocketConstructor })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.invalidArgument }),
    );
  });

  it('sends headers only to a class that takes them', async () => {
    RecordingSocket.created = [];
    const headers = { Authorization: 'Bearer t' };
    const plain = new WsTransport({ WebSocket: RecordingSocket });
    const told = new WsTransport({ WebSocket: RecordingSocket, supportsHeaders: true });
    // The double never connects: both opens end in their (short) timeout.
    const openings = [
      plain.open('ws://a', { headers, timeoutMs: 1 }),
      told.open('ws://b', { headers, timeoutMs: 1 }),
    ].map((opening) => failureOf(opening));
    expect(RecordingSocket.created).toEqual([['ws://a'], ['ws://b', undefined, { headers }]]);
    for (const error of await Promise.all(openings))
      expect(error.code).toBe(ERROR_CODES.connectionFailed);
  });

  it('recognises the ws class as one that takes headers', async () => {
    const url = await rawServer([]);
    const seen = new Promise<string | undefined>((resolve) =>
      raw!.once('connection', (_socket, request) => resolve(String(request.headers['x-token']))),
    );
    opened.push(await new WsTransport({ WebSocket }).open(url, { headers: { 'X-Token': 'abc' } }));
    expect(await seen).toBe('abc');
  });

  it('rejects a malformed URL with connection_failed', async () => {
    const error = await failureOf(new WsTransport({ WebSocket }).open('not a url'));
    expect(error.code).toBe(ERROR_CODES.connectionFailed);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('rejects an answer other than 101 with connection_failed', async () => {
    const { http: server, port } = await listen();
    http = server;
    const error = await failureOf(new WsTransport({ WebSocket }).open(`ws://127.0.0.1:${port}/x`));
    expect(error.code).toBe(ERROR_CODES.connectionFailed);
  });

  it('reports frames from the server that are not JSON objects, and stays open', async () => {
    const url = await rawServer(['nope', '[1]', '"text"', Buffer.from('{}'), '{"type":"ok"}']);
    const connection = await new WsTransport({ WebSocket }).open(url);
    opened.push(connection);
    const problems: string[] = [];
    connection.onInvalidMessage((problem) => problems.push(problem.code));
    const message = await new Promise((resolve) => connection.onMessage(resolve));
    expect(message).toEqual({ type: 'ok' });
    expect(problems).toEqual(Array.from({ length: 4 }, () => 'invalid_message'));
    expect(connection.isOpen).toBe(true);
  });

  it('cuts a close reason to the 123 bytes a close frame can carry', async () => {
    const url = await rawServer([]);
    const reasons = new Promise<string>((resolve) =>
      raw!.once('connection', (socket) => socket.once('close', (_code, why) => resolve(`${why}`))),
    );
    const connection = await new WsTransport({ WebSocket }).open(url);
    connection.close(4000, 'é'.repeat(100));
    expect(await reasons).toBe('é'.repeat(61));
  });

  it('falls back to 1000 where the platform refuses the code, as browsers do', () => {
    const calls: Array<[number | undefined, string | undefined]> = [];
    let onOpen: () => void = () => {};
    class StrictSocket extends RecordingSocket {
      override readonly readyState: number = 1;
      override close(code?: number, reason?: string): void {
        calls.push([code, reason]);
        if (code !== 1000 && (code === undefined || code < 3000)) throw new Error('InvalidAccess');
      }
      override addEventListener(type: string, listener: (...args: never[]) => void): void {
        if (type === 'open') onOpen = listener as () => void;
      }
    }
    const opening = new WsTransport({ WebSocket: StrictSocket }).open('ws://a');
    onOpen();
    return opening.then((connection) => {
      connection.close(CLOSE_CODES.goingAway, 'bye');
      expect(calls).toEqual([
        [1001, 'bye'],
        [1000, 'bye'],
      ]);
      expect(connection.isOpen).toBe(false);
    });
  });

  it('reports socket errors on onError as connection_failed, the socket error as the cause', async () => {
    /** A socket that opens at once and lets the test fire its events, browser or `ws` style. */
    class EventfulSocket extends RecordingSocket {
      static last: EventfulSocket | undefined;
      override readonly readyState: number = 1;
      readonly listeners = new Map<string, ((...args: unknown[]) => void)[]>();
      constructor(...args: unknown[]) {
        super(...args);
        EventfulSocket.last = this;
      }
      override addEventListener(type: string, listener: (...args: never[]) => void): void {
        this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener as () => void]);
        if (type === 'open') queueMicrotask(() => listener());
      }
      fire(type: string, value: unknown): void {
        for (const listener of this.listeners.get(type) ?? []) listener(value);
      }
    }
    /** The `ws` package's shape: Node-style events beside addEventListener. */
    class NodeStyleSocket extends EventfulSocket {
      on(type: string, listener: (...args: unknown[]) => void): void {
        this.addEventListener(`node:${type}`, listener);
      }
    }
    const errorOf = async (Socket: typeof EventfulSocket, type: string, value: unknown) => {
      const connection = await new WsTransport({ WebSocket: Socket }).open('ws://a');
      const reported = new Promise<Error>((resolve) => connection.onError(resolve));
      EventfulSocket.last!.fire(type, value);
      return reported;
    };
    // A browser hands a bare Event, with nothing to say.
    const bare = new Event('error');
    const browser = await errorOf(EventfulSocket, 'error', bare);
    expect(browser).toMatchObject({
      code: ERROR_CODES.connectionFailed,
      message: 'websocket error',
    });
    expect(browser.cause).toBe(bare);
    const reset = new Error('read ECONNRESET');
    const node = await errorOf(NodeStyleSocket, 'node:error', reset);
    expect(node).toMatchObject({ code: ERROR_CODES.connectionFailed, message: 'read ECONNRESET' });
    expect(node.cause).toBe(reset);
  });

  it('binds one transport for the container', () => {
    const container = createLocalFirstContainer(wsTransportModule({ WebSocket }));
    const transport = container.get(TOKENS.Transport);
    expect(transport).toBeInstanceOf(WsTransport);
    expect(container.get(TOKENS.Transport)).toBe(transport);
  });
});

// node:net is loaded inside the tests that need it, so the package also loads in browsers
// (the storage suite runs there).
import type { Server, Socket } from 'node:net';
import { ERROR_CODES, type LocalFirstError } from '@local-first/core';
import { CLOSE_CODES } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import { largeText, OVERSIZE_MARGIN_BYTES } from './fixtures.js';
import type { TransportHarness } from './harness.js';

/** Short, so the timeout test is quick; the listener it talks to never answers anyway. */
const OPEN_TIMEOUT_MS = 300;

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no TCP port'));
      else resolve(address.port);
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

async function openFailure(open: () => Promise<unknown>): Promise<LocalFirstError> {
  try {
    await open();
  } catch (error) {
    return error as LocalFirstError;
  }
  throw new Error('open() resolved, but it should have failed');
}

/** A closed port on 127.0.0.1, as a URL of the harness's scheme. */
async function closedPort(url: string): Promise<string> {
  const { createServer } = await import('node:net');
  const probe = createServer();
  const port = await listen(probe);
  await stop(probe);
  return withPort(url, port);
}

/** A TCP listener that accepts and never answers, as a URL of the harness's scheme. */
async function silentListener(url: string): Promise<{ url: string; stop(): Promise<void> }> {
  const { createServer } = await import('node:net');
  const held: Socket[] = [];
  const silent = createServer((socket) => held.push(socket));
  const port = await listen(silent);
  return {
    url: withPort(url, port),
    stop: async () => {
      for (const socket of held) socket.destroy();
      await stop(silent);
    },
  };
}

const NOT_TCP =
  'the transport is not TCP (tcp: false) and its setup gives no refusedUrl / silentUrl for this test';

export function describeFailures(harness: TransportHarness): void {
  describe('failures', () => {
    it('rejects with connection_failed and a cause where nothing answers', async (context) => {
      const { tcp = true, refusedUrl } = harness.failureHooks;
      if (!refusedUrl && !tcp) return context.skip(NOT_TCP);
      const url = refusedUrl ? await refusedUrl() : await closedPort(harness.url);
      const error = await openFailure(() => harness.transport.open(url, { timeoutMs: 10_000 }));
      expect(error.code).toBe(ERROR_CODES.connectionFailed);
      expect(error.cause).toBeDefined();
    });

    it('rejects with connection_failed when the handshake gets no answer in time', async (context) => {
      const { tcp = true, silentUrl } = harness.failureHooks;
      if (!silentUrl && !tcp) return context.skip(NOT_TCP);
      const silent = silentUrl ? await silentUrl() : await silentListener(harness.url);
      try {
        const error = await openFailure(() =>
          harness.transport.open(silent.url, { timeoutMs: OPEN_TIMEOUT_MS }),
        );
        expect(error.code).toBe(ERROR_CODES.connectionFailed);
      } finally {
        await silent.stop();
      }
    });

    it('closes with 1009 on a message over the server frame limit, other connections unharmed', async () => {
      const bystander = await harness.connect();
      const { client, server } = await harness.connect();
      client.connection.send({
        type: 'oversized',
        payload: largeText(harness.maxFrameBytes + OVERSIZE_MARGIN_BYTES),
      });
      expect((await client.closed()).code).toBe(CLOSE_CODES.tooLarge);
      expect((await server.closed()).code).toBe(CLOSE_CODES.tooLarge);
      expect(server.messages).toEqual([]);
      bystander.client.connection.send({ type: 'ping' });
      expect(await bystander.server.received(1)).toEqual([{ type: 'ping' }]);
      expect(bystander.client.connection.isOpen).toBe(true);
    });

    it('never reconnects by itself after the server closed a connection', async () => {
      const first = await harness.connect();
      first.server.connection.close(CLOSE_CODES.authFailed, 'invalid_token');
      await first.client.closed();
      // A deliberate second connection and a round trip on it: a transport that reconnected
      // on its own would have produced a connection of its own by then.
      const second = await harness.connect();
      second.client.connection.send({ type: 'ping' });
      second.server.connection.send({ type: 'pong' });
      await Promise.all([second.server.received(1), second.client.received(1)]);
      expect(harness.acceptedCount).toBe(2);
      expect(first.client.connection.isOpen).toBe(false);
      expect(first.client.closes).toHaveLength(1);
      expect(first.client.messages).toEqual([]);
    });

    it('reports frames that are not JSON objects and keeps the connection open', async (context) => {
      if (!harness.canOpenRaw) context.skip('the setup has no openRaw()');
      const { raw, server } = await harness.openRaw();
      raw.sendText('not json');
      raw.sendText('[1,2,3]');
      raw.sendText('42');
      raw.sendText('null');
      raw.sendBinary(new Uint8Array([0x7b, 0x7d]));
      raw.sendText('{"type":"ping"}');
      expect(await server.received(1)).toEqual([{ type: 'ping' }]);
      await server.until(() => server.invalid.length >= 5, 'five invalid messages reported');
      expect(server.invalid.map((problem) => problem.code)).toEqual(
        Array.from({ length: 5 }, () => 'invalid_message'),
      );
      for (const problem of server.invalid) expect(problem.message).not.toBe('');
      expect(server.connection.isOpen).toBe(true);
      expect(server.closes).toEqual([]);
    });
  });
}

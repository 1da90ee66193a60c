import { connect, type Socket } from 'node:net';
import { describeTransport, type RawPeer, type TransportSetup } from '@local-first/contract';
import { createLocalFirstContainer, TOKENS, type Transport } from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  NdjsonTransport,
  NdjsonTransportServer,
  ndjsonTransportModule,
  ndjsonTransportServerModule,
  parseTcpUrl,
} from '../src/transport/index.js';

/** Small enough that the oversized-line test sends little; above the suite's 512 KiB message. */
const TEST_MAX_FRAME_BYTES = 768 * 1024;

/**
 * A peer that writes lines the client never would. It says `hello` and waits for `welcome`,
 * so the server hands the connection over; after that each `sendText` is one line as is.
 * NDJSON has no binary frames: the nearest thing is a line that is not UTF-8, so
 * `sendBinary` puts a 0xFF byte (never part of UTF-8 text) before the bytes.
 */
async function openRaw(url: string): Promise<RawPeer> {
  const socket: Socket = connect(parseTcpUrl(url));
  await new Promise<void>((resolve, reject) => {
    let text = '';
    socket.on('data', function welcome(chunk: Buffer) {
      text += chunk.toString('utf8');
      if (!text.startsWith('["welcome"]\n')) return;
      socket.off('data', welcome);
      resolve();
    });
    socket.once('error', reject);
    socket.write('["hello",{}]\n');
  });
  return {
    sendText: (text) => socket.write(`${text}\n`),
    sendBinary: (bytes) =>
      socket.write(Buffer.concat([Buffer.from([0xff]), bytes, Buffer.from('\n')])),
    close: async () => {
      if (socket.destroyed) return;
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.end();
      await closed;
    },
  };
}

async function ndjsonSetup(): Promise<TransportSetup> {
  const server = new NdjsonTransportServer({ maxFrameBytes: TEST_MAX_FRAME_BYTES });
  const { url } = await server.listen();
  return {
    transport: new NdjsonTransport(),
    url,
    server,
    maxFrameBytes: TEST_MAX_FRAME_BYTES,
    openRaw: () => openRaw(url),
    teardown: () => server.close(),
  };
}

describeTransport('ndjson over tcp', ndjsonSetup);

describe('NdjsonTransport', () => {
  it('refuses a URL that is not tcp://host:port with connection_failed', async () => {
    const transport = new NdjsonTransport();
    await expect(transport.open('ws://127.0.0.1:1/sync')).rejects.toMatchObject({
      code: 'connection_failed',
    });
    await expect(transport.open('tcp://127.0.0.1')).rejects.toMatchObject({
      code: 'connection_failed',
    });
  });

  it('reads IPv6 hosts in brackets', () => {
    expect(parseTcpUrl('tcp://[::1]:9000')).toEqual({ host: '::1', port: 9000 });
  });

  it('binds both halves in a container', async () => {
    const container = createLocalFirstContainer(
      ndjsonTransportModule(),
      ndjsonTransportServerModule(),
    );
    expect(container.get<Transport>(TOKENS.Transport)).toBeInstanceOf(NdjsonTransport);
    const [server] = container.getAll<TransportServer>(TOKENS.TransportServer);
    expect(server).toBeInstanceOf(NdjsonTransportServer);
    expect(container.get<Transport>(TOKENS.Transport)).toBe(
      container.get<Transport>(TOKENS.Transport),
    );
    await server!.close();
  });
});

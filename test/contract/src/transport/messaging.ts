import { describe, expect, it } from 'vitest';
import { LARGE_PAYLOAD_BYTES, largeText, ORDER_COUNT, UNICODE_MESSAGES } from './fixtures.js';
import type { TransportHarness } from './harness.js';

export function describeMessaging(harness: TransportHarness): void {
  describe('opening', () => {
    it('resolves with an open connection that the server half has accepted', async () => {
      const { client, server, info } = await harness.connect();
      expect(client.connection.isOpen).toBe(true);
      expect(server.connection.isOpen).toBe(true);
      expect(info.transport).toBe(harness.server.name);
      expect(info.remoteAddress).toContain('127.0.0.1');
      expect(harness.acceptedCount).toBe(1);
    });

    it('hands the upgrade headers to the server half with lower-cased names', async (context) => {
      if (!harness.upgradeHeaders) context.skip('the setup declares upgradeHeaders = false');
      const { info } = await harness.connect({
        headers: { Authorization: 'Bearer contract-token', 'X-Custom-Header': 'value' },
      });
      expect(info.headers.authorization).toBe('Bearer contract-token');
      expect(info.headers['x-custom-header']).toBe('value');
      for (const name of Object.keys(info.headers)) expect(name).toBe(name.toLowerCase());
    });

    it('stops calling a connection handler once it has unsubscribed', async () => {
      const seen: string[] = [];
      const stop = harness.server.onConnection(() => seen.push('connection'));
      await harness.connect();
      stop();
      stop();
      await harness.connect();
      expect(seen).toEqual(['connection']);
      expect(harness.acceptedCount).toBe(2);
    });
  });

  describe('messages', () => {
    it('carries a message from the client to the server as an equal copy', async () => {
      const { client, server } = await harness.connect();
      const message = { type: 'push_event', repository: 'todos', nested: { list: [1, 'two'] } };
      client.connection.send(message);
      expect(await server.received(1)).toEqual([message]);
    });

    it('carries a message from the server to the client as an equal copy', async () => {
      const { client, server } = await harness.connect();
      const message = { type: 'events', repository: 'todos', events: [], hasMore: false };
      server.connection.send(message);
      expect(await client.received(1)).toEqual([message]);
    });

    it('delivers what the server sends the moment it accepts, before the client listens', async () => {
      harness.server.onConnection((connection) => connection.send({ type: 'welcome' }));
      const { client } = await harness.connect();
      expect(await client.received(1)).toEqual([{ type: 'welcome' }]);
    });

    it(`keeps the order of ${ORDER_COUNT} messages each way`, async () => {
      const { client, server } = await harness.connect();
      const expected = Array.from({ length: ORDER_COUNT }, (_, n) => ({ type: 'seq', n }));
      for (const message of expected) {
        client.connection.send(message);
        server.connection.send(message);
      }
      const [atServer, atClient] = await Promise.all([
        server.received(ORDER_COUNT),
        client.received(ORDER_COUNT),
      ]);
      expect(atServer).toEqual(expected);
      expect(atClient).toEqual(expected);
    });

    it(`carries a ${LARGE_PAYLOAD_BYTES / 1024} KiB message intact both ways`, async () => {
      const { client, server } = await harness.connect();
      const message = { type: 'large', payload: largeText(LARGE_PAYLOAD_BYTES) };
      client.connection.send(message);
      server.connection.send(message);
      const [[atServer], [atClient]] = await Promise.all([server.received(1), client.received(1)]);
      expect(atServer).toEqual(message);
      expect(atClient).toEqual(message);
      expect(client.connection.isOpen).toBe(true);
    });

    it('round-trips unicode text and keys both ways', async () => {
      const { client, server } = await harness.connect();
      for (const message of UNICODE_MESSAGES) {
        client.connection.send(message);
        server.connection.send(message);
      }
      const count = UNICODE_MESSAGES.length;
      expect(await server.received(count)).toEqual(UNICODE_MESSAGES);
      expect(await client.received(count)).toEqual(UNICODE_MESSAGES);
    });

    it('keeps connections apart: a message reaches only its own peer', async () => {
      const first = await harness.connect();
      const second = await harness.connect();
      first.client.connection.send({ type: 'from', who: 'first' });
      second.client.connection.send({ type: 'from', who: 'second' });
      second.server.connection.send({ type: 'to', who: 'second' });
      first.server.connection.send({ type: 'to', who: 'first' });
      expect(await first.server.received(1)).toEqual([{ type: 'from', who: 'first' }]);
      expect(await second.server.received(1)).toEqual([{ type: 'from', who: 'second' }]);
      expect(await first.client.received(1)).toEqual([{ type: 'to', who: 'first' }]);
      expect(await second.client.received(1)).toEqual([{ type: 'to', who: 'second' }]);
      // A round trip on each after the first messages: nothing else crossed over meanwhile.
      first.client.connection.send({ type: 'ping' });
      second.client.connection.send({ type: 'ping' });
      await Promise.all([first.server.received(2), second.server.received(2)]);
      expect(first.server.messages).toHaveLength(2);
      expect(second.server.messages).toHaveLength(2);
    });
  });
}

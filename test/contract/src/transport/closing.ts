import { ERROR_CODES, type LocalFirstError } from '@local-first/core';
import { CLOSE_CODES } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import type { End, TransportHarness } from './harness.js';

/** Messages sent right before a close, to prove they are delivered before it. */
const BEFORE_CLOSE_COUNT = 20;

/** A client-initiated code in the range the protocol leaves to applications. */
const CLIENT_CODE = 4000;

/** Lets already queued events run, so a second, wrong `onClose` would have shown up. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function expectClosedToSend(end: End): void {
  expect(end.connection.isOpen).toBe(false);
  let thrown: unknown;
  try {
    end.connection.send({ type: 'ping' });
  } catch (error) {
    thrown = error;
  }
  expect((thrown as LocalFirstError | undefined)?.code).toBe(ERROR_CODES.connectionClosed);
}

export function describeClosing(harness: TransportHarness): void {
  describe('closing', () => {
    it('reports a client close() as 1000 on both sides', async () => {
      const { client, server } = await harness.connect();
      client.connection.close();
      expect(await client.closed()).toEqual({ code: CLOSE_CODES.normal, reason: '' });
      expect(await server.closed()).toEqual({ code: CLOSE_CODES.normal, reason: '' });
      expectClosedToSend(client);
      expectClosedToSend(server);
    });

    it(`reports a client's ${CLIENT_CODE} code and reason on both sides`, async () => {
      const { client, server } = await harness.connect();
      client.connection.close(CLIENT_CODE, 'client leaving');
      expect(client.connection.isOpen).toBe(false);
      expect(await server.closed()).toEqual({ code: CLIENT_CODE, reason: 'client leaving' });
      expect(await client.closed()).toEqual({ code: CLIENT_CODE, reason: 'client leaving' });
    });

    it('reports a server close with 4401 and its reason on both sides', async () => {
      const { client, server } = await harness.connect();
      server.connection.close(CLOSE_CODES.authFailed, 'invalid_token');
      expect(server.connection.isOpen).toBe(false);
      expect(await client.closed()).toEqual({
        code: CLOSE_CODES.authFailed,
        reason: 'invalid_token',
      });
      expect(await server.closed()).toEqual({
        code: CLOSE_CODES.authFailed,
        reason: 'invalid_token',
      });
      expectClosedToSend(client);
    });

    it('closes every open connection with 1001 when the server half closes', async () => {
      const first = await harness.connect();
      const second = await harness.connect();
      await harness.server.close(CLOSE_CODES.goingAway, 'server shutting down');
      const expected = { code: CLOSE_CODES.goingAway, reason: 'server shutting down' };
      for (const pair of [first, second]) {
        expect(await pair.client.closed()).toEqual(expected);
        expect(await pair.server.closed()).toEqual(expected);
        expectClosedToSend(pair.client);
      }
    });

    it('accepts no new connection once the server half has closed', async () => {
      await harness.server.close(CLOSE_CODES.goingAway, 'server shutting down');
      await expect(harness.transport.open(harness.url, { timeoutMs: 3_000 })).rejects.toMatchObject(
        { code: ERROR_CODES.connectionFailed },
      );
      expect(harness.acceptedCount).toBe(0);
    });

    it('delivers the messages a client sent before its close, then the close', async () => {
      const { client, server } = await harness.connect();
      for (let n = 0; n < BEFORE_CLOSE_COUNT; n++) client.connection.send({ type: 'seq', n });
      client.connection.close(CLIENT_CODE, 'done');
      const info = await server.closed();
      expect(info).toEqual({ code: CLIENT_CODE, reason: 'done' });
      expect(server.messages).toEqual(
        Array.from({ length: BEFORE_CLOSE_COUNT }, (_, n) => ({ type: 'seq', n })),
      );
    });

    it('delivers the messages a server sent before its close, then the close', async () => {
      const { client, server } = await harness.connect();
      for (let n = 0; n < BEFORE_CLOSE_COUNT; n++) server.connection.send({ type: 'seq', n });
      server.connection.close(CLOSE_CODES.authFailed, 'expired');
      expect(await client.closed()).toEqual({ code: CLOSE_CODES.authFailed, reason: 'expired' });
      expect(client.messages).toEqual(
        Array.from({ length: BEFORE_CLOSE_COUNT }, (_, n) => ({ type: 'seq', n })),
      );
    });

    it('treats a second close() as harmless and reports the close once', async () => {
      const { client, server } = await harness.connect();
      client.connection.close(CLIENT_CODE, 'first');
      client.connection.close(CLIENT_CODE + 1, 'second');
      await Promise.all([client.closed(), server.closed()]);
      server.connection.close(CLOSE_CODES.authFailed, 'late');
      client.connection.close();
      await settle();
      expect(client.closes).toEqual([{ code: CLIENT_CODE, reason: 'first' }]);
      expect(server.closes).toEqual([{ code: CLIENT_CODE, reason: 'first' }]);
    });
  });
}

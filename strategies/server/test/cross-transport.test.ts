import type { TransportConnection } from '@local-first/core/adapter';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { WsTransport } from '@local-first/transport-ws';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer } from './helpers.js';

type Message = { type: string } & Record<string, unknown>;

/** An authenticated protocol connection with a way to await its next message of a type. */
async function session(connection: TransportConnection, token: string) {
  const inbox: Message[] = [];
  const waiters: { type: string; resolve: (message: Message) => void }[] = [];
  connection.onMessage((raw) => {
    const message = raw as Message;
    const waiter = waiters.find((candidate) => candidate.type === message.type);
    if (waiter) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    } else inbox.push(message);
  });
  const next = (type: string): Promise<Message> => {
    const index = inbox.findIndex((message) => message.type === type);
    if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0]!);
    return new Promise((resolve) => waiters.push({ type, resolve }));
  };
  connection.send({ type: 'auth', token });
  await next('auth_success');
  return { connection, next };
}

const event = (eventId: string) => ({
  eventId,
  operation: 0,
  createdAt: '2025-01-23T10:00:00.000Z',
  dataId: eventId,
  data: { id: eventId },
});

describe('one server, both transports', () => {
  let harness: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    harness = await startTestServer();
  });
  afterAll(() => harness.stop());

  it('a ws client and a socket.io client see each other’s events', async () => {
    const viaWs = await session(
      await new WsTransport({ WebSocket }).open(harness.wsUrl),
      'token-alice',
    );
    const viaSocketIo = await session(
      await new SocketIoTransport({ io }).open(harness.server.url),
      'token-bob',
    );

    viaWs.connection.send({ type: 'push_event', repository: 'shared', event: event('from-ws') });
    expect(await viaWs.next('ack')).toMatchObject({ eventIds: ['from-ws'] });
    const seenBySocketIo = await viaSocketIo.next('events');
    expect(
      (seenBySocketIo.events as { eventId: string }[]).map((stored) => stored.eventId),
    ).toEqual(['from-ws']);

    viaSocketIo.connection.send({
      type: 'push_events_batch',
      repository: 'shared',
      events: [event('from-socketio')],
    });
    expect(await viaSocketIo.next('ack')).toMatchObject({
      eventIds: ['from-socketio'],
      lastSequence: 2,
    });
    const seenByWs = await viaWs.next('events');
    expect((seenByWs.events as { eventId: string }[]).map((stored) => stored.eventId)).toEqual([
      'from-socketio',
    ]);

    const health = (await (await fetch(`${harness.server.url}/api/health`)).json()) as {
      connections: number;
    };
    expect(health.connections).toBe(2);
    viaWs.connection.close(1000, 'done');
    viaSocketIo.connection.close(1000, 'done');
  });
});

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, startTestServer } from './helpers.js';

// A commit that waits for the disk (here: for another connection's write lock, which holds
// it the way a slow fsync would) must delay the pushes waiting for it and nothing else.

function event(id: string) {
  return {
    eventId: id,
    operation: 0,
    createdAt: new Date().toISOString(),
    dataId: id,
    data: { id },
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('a slow commit on the SQLite server', () => {
  it('holds only its own pushes: other connections are answered meanwhile, and the push is acked after', async () => {
    const scratch = await startTestServer();
    const path = join(scratch.directory, 'events.sqlite');
    await scratch.stop();
    const running = await startTestServer({ store: { kind: 'sqlite', path } });
    stops.push(() => running.stop());
    const writer = await RawClient.connect(running.wsUrl, 'token-alice');
    const reader = await RawClient.connect(running.wsUrl, 'token-bob');
    stops.push(async () => {
      writer.close();
      reader.close();
    });
    await writer.send({
      type: 'push_events_batch',
      repository: 'notes',
      requestId: 'p0',
      events: [event('a')],
    });
    await writer.waitUntil(
      (message) => message.type === 'ack' && message.requestId === 'p0',
      'ack of p0',
    );

    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    let released = false;
    stops.push(async () => {
      if (!released) locker.exec('ROLLBACK');
      locker.close();
    });
    await writer.send({
      type: 'push_events_batch',
      repository: 'notes',
      requestId: 'p1',
      events: [event('b')],
    });

    // While that commit waits: heartbeats and a catch-up of another connection are answered,
    // and so is a ping on the very connection whose push waits.
    await reader.send({ type: 'ping' });
    await reader.waitFor('pong');
    await reader.send({
      type: 'request_events',
      repository: 'notes',
      afterSequence: 0,
      requestId: 'c',
    });
    const page = await reader.waitUntil(
      (message) => message.type === 'events' && message.requestId === 'c',
      'catch-up page',
    );
    await writer.send({ type: 'ping' });
    await writer.waitFor('pong');
    const answered = writer.received.filter((message) => message.requestId === 'p1');
    expect({
      page: (page.events as { eventId: string }[]).map((stored) => stored.eventId),
      answered,
    }).toEqual({
      page: ['a'],
      answered: [],
    });

    locker.exec('COMMIT');
    released = true;
    const ack = await writer.waitUntil((message) => message.requestId === 'p1', 'the answer to p1');
    expect(ack).toMatchObject({ type: 'ack', eventIds: ['b'], lastSequence: 2 });
    const live = await reader.waitUntil(
      (message) =>
        message.type === 'events' &&
        message.requestId === undefined &&
        (message.events as { eventId: string }[]).some((stored) => stored.eventId === 'b'),
      'the live event of b',
    );
    expect(live).toMatchObject({ repository: 'notes', lastSequence: 2 });
  });
});

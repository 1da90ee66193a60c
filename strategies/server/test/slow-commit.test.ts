import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

/** The server on a SQLite file, the file's path, and a lock on it that holds the next commit. */
async function sqliteServer() {
  const directory = await mkdtemp(join(tmpdir(), 'lf-slow-commit-'));
  stops.push(() => rm(directory, { recursive: true, force: true }));
  const path = join(directory, 'events.sqlite');
  const running = await startTestServer({ store: { kind: 'sqlite', path } });
  stops.push(() => running.stop());
  return {
    running,
    path,
    /** Takes the write lock from another connection; the returned function releases it. */
    lock(): () => void {
      const locker = new Database(path);
      locker.exec('BEGIN IMMEDIATE');
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        locker.exec('COMMIT');
        locker.close();
      };
      stops.push(async () => release());
      return release;
    },
  };
}

describe('a slow commit on the SQLite server', () => {
  it('holds only its own pushes: other connections are answered meanwhile, and the push is acked after', async () => {
    const { running, lock } = await sqliteServer();
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

    const release = lock();
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

    release();
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

  it('sends the pushes of one commit to a reader as one message', async () => {
    const { running, lock } = await sqliteServer();
    const writers = await Promise.all(
      ['token-alice', 'token-fuzz', 'token-alice'].map((token) =>
        RawClient.connect(running.wsUrl, token),
      ),
    );
    const reader = await RawClient.connect(running.wsUrl, 'token-bob');
    stops.push(async () => {
      for (const client of [...writers, reader]) client.close();
    });
    const release = lock();
    // The first push's commit waits for the lock (its pong says the server has read it and
    // started the commit); the next two arrive meanwhile and share the next commit.
    for (const [index, writer] of writers.entries()) {
      await writer.send({
        type: 'push_events_batch',
        repository: 'notes',
        requestId: `p${index}`,
        events: [event(`e${index}`)],
      });
      if (index === 0) {
        await writer.send({ type: 'ping' });
        await writer.waitFor('pong');
      }
    }
    for (const writer of writers.slice(1)) {
      await writer.send({ type: 'ping' });
      await writer.waitFor('pong');
    }
    release();
    for (const writer of writers) await writer.waitFor('ack');
    const live: string[][] = [];
    while (live.flat().length < 3) {
      const message = await reader.waitFor('events');
      live.push((message.events as { eventId: string }[]).map((stored) => stored.eventId));
    }
    expect(live).toEqual([['e0'], ['e1', 'e2']]);
  });
});

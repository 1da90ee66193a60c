import { copyFile, rm } from 'node:fs/promises';
import {
  LocalFirstClient,
  type RecordData,
  Repository,
  type StoredEvent,
  silentLogger,
} from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { WsTransport } from '@local-first/transport-ws';
import { type SyncActivity, WebSocketSyncStrategy } from '@local-first/websocket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MATRIX_TOKENS, ServerProcess } from '../src/server-process.js';

// A server whose database is restored from an older copy, or wiped, while clients keep their
// cursors: the real server process on a real SQLite file, real sockets.

interface Note extends RecordData {
  id: string;
  text: string;
}

const [ALICE, BOB] = Object.keys(MATRIX_TOKENS) as [string, string];

async function device(server: ServerProcess, token: string) {
  const notes = new Repository<Note>({ name: 'notes' });
  const strategy = new WebSocketSyncStrategy({
    websocketUrl: `${server.origin.replace(/^http/, 'ws')}/sync`,
    transport: new WsTransport({ WebSocket }),
    authToken: token,
    reconnectDelay: 50,
    maxReconnectDelay: 200,
  });
  const resets: SyncActivity[] = [];
  strategy.activityChanges.subscribe((activity) => {
    if (activity.type === 'reset') resets.push(activity);
  });
  const client = new LocalFirstClient({
    repositories: [notes],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  await client.start();
  return { client, notes, strategy, resets };
}

type Device = Awaited<ReturnType<typeof device>>;

async function synced(...devices: Device[]): Promise<void> {
  const results = await Promise.all(devices.map((d) => d.strategy.whenSynced(10_000)));
  const pending = await Promise.all(
    devices.map(async (d) => (await d.notes.getPendingEvents()).length),
  );
  expect({ synced: results, pending }).toEqual({
    synced: devices.map(() => true),
    pending: devices.map(() => 0),
  });
}

/** The server's whole log of `notes`, read page by page over REST. */
async function serverLog(server: ServerProcess): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (;;) {
    const after = events.at(-1)?.serverSequence ?? 0;
    const response = await fetch(`${server.origin}/api/events/notes?afterSequence=${after}`, {
      headers: { Authorization: `Bearer ${ALICE}` },
    });
    const page = (await response.json()) as { events: StoredEvent[]; hasMore: boolean };
    events.push(...page.events);
    if (!page.hasMore) return events;
  }
}

const texts = async (d: Device) =>
  (await d.notes.query().orderBy('id').get()).map((note) => `${note.id}:${note.text}`);

describe('a server restored from an older copy, or wiped', () => {
  const server = new ServerProcess({ store: 'sqlite', maxPageEvents: 4 });
  beforeAll(() => server.start());
  afterAll(() => server.dispose());

  it('re-syncs clients whose cursor is ahead, keeps their pending writes and restores what they had', async () => {
    const alice = await device(server, ALICE);
    const bob = await device(server, BOB);
    for (let i = 1; i <= 5; i++)
      await alice.notes.upsert({ id: `a${i}`, text: 'before the backup' });
    await synced(alice, bob);
    await server.stop();
    const backup = `${server.databaseFile}.backup`;
    await copyFile(server.databaseFile, backup);
    await server.start();
    for (let i = 1; i <= 5; i++) await bob.notes.upsert({ id: `b${i}`, text: 'after the backup' });
    await synced(alice, bob);
    expect(await serverLog(server)).toHaveLength(10);

    // The operator restores the backup: the log ends at 5, both cursors point at 10.
    await server.stop();
    await alice.notes.upsert({ id: 'offline', text: 'written while the server was down' });
    await copyFile(backup, server.databaseFile);
    await rm(`${server.databaseFile}-wal`, { force: true });
    await rm(`${server.databaseFile}-shm`, { force: true });
    await server.start();
    await synced(alice, bob);

    // Bob knows, from his own acks, that the log reached 10; alice may or may not have had
    // his writes broadcast to her before the backup was put back.
    expect(bob.resets.map((activity) => activity.type)).toContain('reset');
    const log = await serverLog(server);
    // Each event once: the five the backup kept, bob's five pushed again, alice's offline one.
    expect(new Set(log.map((event) => event.eventId)).size).toBe(log.length);
    expect(log.map((event) => event.serverSequence)).toEqual(log.map((_, index) => index + 1));
    expect(log.map((event) => event.dataId).sort()).toEqual(
      ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2', 'b3', 'b4', 'b5', 'offline'].sort(),
    );
    expect(await texts(alice)).toEqual(await texts(bob));
    expect(await texts(alice)).toHaveLength(11);
    await alice.client.dispose();
    await bob.client.dispose();
  });

  it('starts over when the log was wiped (another epoch), pushing back what the device wrote', async () => {
    const alice = await device(server, ALICE);
    await alice.notes.upsert({ id: 'kept', text: 'survives a wiped server' });
    await synced(alice);
    await server.stop();
    for (const suffix of ['', '-wal', '-shm'])
      await rm(`${server.databaseFile}${suffix}`, { force: true });
    await server.start();
    await synced(alice);
    expect(alice.resets.length).toBeGreaterThan(0);
    const log = await serverLog(server);
    expect(log.map((event) => event.dataId)).toContain('kept');
    await alice.client.dispose();
  });
});

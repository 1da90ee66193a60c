import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './helpers.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = 5;
const EVENTS_PER_ROUND = 40;

/** Starts the real CLI as its own process and resolves once it logs its URL. */
async function startProcess(database: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    // One process, no wrapper: SIGKILL must hit the server itself.
    [
      '--import',
      'tsx',
      '--conditions=@local-first/source',
      'src/cli.ts',
      '--port',
      '0',
      '--store',
      `sqlite:${database}`,
    ],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const entry = JSON.parse(line) as { url?: string };
    if (entry.url) {
      lines.close();
      child.stdout!.resume();
      return { child, port: Number(new URL(entry.url).port) };
    }
  }
  throw new Error('the server exited before listening');
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('durability of acknowledged events (SQLite, SIGKILL)', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lf-crash-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('every acknowledged event survives a SIGKILL sent right after its ack', async () => {
    const database = join(directory, 'sync.db');
    const acknowledged: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { child, port } = await startProcess(database);
      const client = await RawClient.connect(`ws://127.0.0.1:${port}/sync`, 'any');
      const events = Array.from({ length: EVENTS_PER_ROUND }, (_, i) => ({
        eventId: `round-${round}-event-${i}`,
        operation: 0,
        createdAt: '2025-01-23T10:00:00.000Z',
        dataId: `r-${round}-${i}`,
        data: { round, i },
      }));
      // Two batches: the kill lands right after the first ack, while the second may be in flight.
      await client.send({
        type: 'push_events_batch',
        repository: 'todos',
        events: events.slice(0, 20),
      });
      await client.send({
        type: 'push_events_batch',
        repository: 'todos',
        events: events.slice(20),
      });
      const ack = await client.next((message) => message.type === 'ack');
      await killed(child);
      acknowledged.push(...(ack.eventIds as string[]));
    }

    const { child, port } = await startProcess(database);
    const reader = await RawClient.connect(`ws://127.0.0.1:${port}/sync`, 'any');
    const stored = new Set<string>();
    await reader.send({ type: 'request_events', repository: 'todos', afterSequence: 0 });
    for (;;) {
      const message = await reader.next(
        (candidate) => candidate.type === 'events' || candidate.type === 'sync_complete',
      );
      if (message.type === 'sync_complete') break;
      for (const event of message.events as { eventId: string }[]) stored.add(event.eventId);
    }
    reader.close();
    child.kill('SIGTERM');
    expect(acknowledged.length).toBe(ROUNDS * 20);
    expect(acknowledged.filter((eventId) => !stored.has(eventId))).toEqual([]);
  });

  it('SIGTERM closes sockets with 1001 and exits cleanly, keeping what was acknowledged', async () => {
    const database = join(directory, 'graceful.db');
    const { child, port } = await startProcess(database);
    const client = await RawClient.connect(`ws://127.0.0.1:${port}/sync`, 'any');
    await client.send({
      type: 'push_event',
      repository: 'todos',
      event: {
        eventId: 'graceful-1',
        operation: 0,
        createdAt: '2025-01-23T10:00:00.000Z',
        dataId: 'g',
        data: {},
      },
    });
    await client.next((message) => message.type === 'ack');
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect((await client.closed).code).toBe(1001);
    expect(await exited).toBe(0);
    const restarted = await startProcess(database);
    const reader = await RawClient.connect(`ws://127.0.0.1:${restarted.port}/sync`, 'any');
    await reader.send({ type: 'request_events', repository: 'todos' });
    const page = await reader.next((message) => message.type === 'events');
    expect((page.events as { eventId: string }[]).map((event) => event.eventId)).toEqual([
      'graceful-1',
    ]);
    reader.close();
    await killed(restarted.child);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFirstClient, Repository, silentLogger } from '@local-first/core';
import { type RunningServer, startSyncServer } from '@local-first/server';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeriodicSyncStrategy, type PeriodicSyncStrategyOptions } from '../src/index.js';
import type { Todo } from './fixtures.js';

/** Requests the strategy made through the platform's fetch, with what came back. */
function countingFetch() {
  const seen: { method: string; path: string; status: number | string }[] = [];
  const fetch = async (input: string, init: RequestInit) => {
    const entry = {
      method: init.method ?? 'GET',
      path: new URL(input).pathname,
      status: 0 as number | string,
    };
    seen.push(entry);
    try {
      const response = await globalThis.fetch(input, init);
      entry.status = response.status;
      return response;
    } catch (error) {
      entry.status = String((error as Error).cause ?? error);
      throw error;
    }
  };
  return { seen, fetch };
}

describe('PeriodicSyncStrategy against the real server (SQLite file, HTTP on loopback)', () => {
  let server: RunningServer;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-periodic-'));
    const tokens = join(work, 'tokens.json');
    await writeFile(tokens, JSON.stringify({ 'token-alice': 'alice', 'token-bob': 'bob' }));
    server = await startSyncServer({
      port: 0,
      host: '127.0.0.1',
      store: { kind: 'sqlite', path: join(work, 'sync.db') },
      auth: { kind: 'tokens', file: tokens },
      staticDir: undefined,
      logger: silentLogger,
      // Far below what a batch of the strategy's defaults holds: it must learn the limit.
      limits: { maxFrameBytes: 8 * 1024, maxPageEvents: 50 },
    });
  });
  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function replica(options: Partial<PeriodicSyncStrategyOptions> = {}) {
    const wire = countingFetch();
    const todos = new Repository<Todo>({ name: 'todos' });
    const strategy = new PeriodicSyncStrategy({
      baseUrl: server.url,
      fetch: wire.fetch,
      authToken: 'token-alice',
      retryDelay: 20,
      maxRetryDelay: 200,
      ...options,
    });
    const client = new LocalFirstClient({
      repositories: [todos],
      localStorage: new MemoryStorageAdapter(),
      syncStrategies: [strategy],
      logger: silentLogger,
    });
    await client.initialize();
    return { client, todos, strategy, wire };
  }

  it('pushes 300 changes through a server whose body limit is far below its batches, then another device pulls them in pages', async () => {
    const writer = await replica();
    for (let i = 0; i < 300; i++)
      await writer.todos.upsert({
        id: `t${String(i).padStart(3, '0')}`,
        title: `a title of some length, number ${i}`,
      });
    await writer.client.start();
    expect(await writer.strategy.syncNow()).toBe(true);
    expect(await writer.todos.getPendingEvents()).toEqual([]);
    const statuses = writer.wire.seen
      .filter((seen) => seen.method === 'POST')
      .map((seen) => seen.status);
    // Each 413 was an answer, not a reset: a batch too large is never mistaken for an outage.
    expect(statuses.filter((status) => typeof status === 'string')).toEqual([]);
    expect(statuses).toContain(413);
    expect(writer.strategy.batchLimits.maxBatchBytes).toBeLessThanOrEqual(8 * 1024);

    const reader = await replica({ authToken: 'token-bob' });
    await reader.client.start();
    expect(await reader.strategy.syncNow()).toBe(true);
    expect(await reader.todos.query().get()).toHaveLength(300);
    expect(reader.wire.seen.filter((seen) => seen.method === 'GET').length).toBeGreaterThanOrEqual(
      6,
    );
    await writer.client.dispose();
    await reader.client.dispose();
  });

  it('stops at a refused token and goes on with a new one', async () => {
    const device = await replica({ authToken: 'not-a-token' });
    await device.todos.upsert({ id: 'x', title: 'waits for a token' });
    await device.client.start();
    expect(await device.strategy.syncNow()).toBe(false);
    expect(device.strategy.connectionState).toBe('failed');
    device.strategy.updateAuthToken('token-alice');
    expect(await device.strategy.whenSynced(10_000)).toBe(true);
    // The refused pull, then with the new token the pages and the push of the change.
    const [refused, ...after] = device.wire.seen.map((seen) => `${seen.method} ${seen.status}`);
    expect(refused).toBe('GET 401');
    expect(new Set(after)).toEqual(new Set(['GET 200', 'POST 201']));
    expect(after.at(-1)).toBe('POST 201');
    await device.client.dispose();
  });
});

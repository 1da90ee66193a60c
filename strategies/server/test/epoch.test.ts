import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@local-first/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartOptions, startSyncServer } from '../src/server.js';
import { RawClient } from './helpers.js';

/** What one run of the server tells a client about itself and its log of `todos`. */
interface Seen {
  serverId: unknown;
  epoch: unknown;
  lastSequence: unknown;
}

describe('serverId and epochs across restarts (SQLite)', () => {
  let directory: string;
  let database: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lf-epoch-'));
    database = join(directory, 'sync.db');
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  /** Starts the server over the test's database, asks it once, and stops it. */
  async function run(overrides: Partial<StartOptions> = {}, push?: string): Promise<Seen> {
    const server = await startSyncServer({
      port: 0,
      host: '127.0.0.1',
      store: { kind: 'sqlite', path: database },
      auth: { kind: 'none' },
      staticDir: undefined,
      logger: silentLogger,
      ...overrides,
    });
    try {
      const client = new RawClient(`ws://127.0.0.1:${server.port}/sync`);
      await client.opened;
      await client.send({ type: 'auth' });
      const { serverId } = await client.waitFor('auth_success');
      if (push) {
        const event = {
          eventId: push,
          operation: 0,
          createdAt: '2025-01-23T10:00:00.000Z',
          dataId: `record-${push}`,
          data: { title: push },
        };
        await client.send({ type: 'push_event', repository: 'todos', event });
        await client.waitFor('ack');
      }
      await client.send({ type: 'request_events', repository: 'todos', afterSequence: 0 });
      const { epoch, lastSequence } = await client.waitFor('sync_complete');
      client.close();
      return { serverId, epoch, lastSequence };
    } finally {
      await server.close();
    }
  }

  it('keeps both across a restart; --new-epoch changes the epoch only; --server-id names it', async () => {
    const first = await run({}, 'e1');
    expect(first).toEqual({
      serverId: expect.any(String),
      epoch: expect.any(String),
      lastSequence: 1,
    });
    expect(await run()).toEqual(first);

    // The operator restored a backup: the data stays, the clients must re-sync from the start.
    const renewed = await run({ newEpoch: true });
    expect(renewed.serverId).toBe(first.serverId);
    expect(renewed.lastSequence).toBe(1);
    expect(renewed.epoch).not.toBe(first.epoch);
    expect(await run()).toEqual(renewed);

    expect(await run({ serverId: 'eu-west-1' })).toEqual({ ...renewed, serverId: 'eu-west-1' });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStore } from '@local-first/contract';
import {
  createLocalFirstContainer,
  ERROR_CODES,
  type EventStore,
  type SyncEvent,
  TOKENS,
} from '@local-first/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteEventStore, sqliteEventStoreModule } from '../src/index.js';
import { sampleEvent, tempFolder } from './fixtures.js';

describeEventStore('SqliteEventStore on a file', async ({ now }) => {
  const folder = mkdtempSync(join(tmpdir(), 'store-sqlite-contract-'));
  const path = join(folder, 'events.sqlite');
  return {
    store: new SqliteEventStore({ path, now, Database }),
    reopen: async () => new SqliteEventStore({ path, now, Database }),
    // Another connection to the same file, as a second process would have.
    node: async () => new SqliteEventStore({ path, now, Database }),
    teardown: async () => rmSync(folder, { recursive: true, force: true }),
  };
});

// Without an injected Database, appends run in the store's writer thread.
describeEventStore('SqliteEventStore on a file, writer thread', async ({ now }) => {
  const folder = mkdtempSync(join(tmpdir(), 'store-sqlite-thread-'));
  const path = join(folder, 'events.sqlite');
  return {
    store: new SqliteEventStore({ path, now, writer: 'thread' }),
    reopen: async () => new SqliteEventStore({ path, now, writer: 'thread' }),
    node: async () => new SqliteEventStore({ path, now, writer: 'thread' }),
    teardown: async () => rmSync(folder, { recursive: true, force: true }),
  };
});

describe('SqliteEventStore', () => {
  it('runs the file in WAL mode with synchronous=FULL', async () => {
    const opened: Database.Database[] = [];
    // The injected constructor lets the test look at the connection the store uses.
    const Spy = function (this: unknown, ...args: ConstructorParameters<typeof Database>) {
      const db = new Database(...args);
      opened.push(db);
      return db;
    } as unknown as typeof Database;
    const store = new SqliteEventStore({
      path: join(tempFolder(), 'events.sqlite'),
      Database: Spy,
    });
    await store.open();
    expect(opened).toHaveLength(1);
    expect(opened[0]!.pragma('journal_mode', { simple: true })).toBe('wal');
    // 2 is FULL: every commit is fsynced before append resolves.
    expect(opened[0]!.pragma('synchronous', { simple: true })).toBe(2);
    await store.close();
    expect(opened[0]!.open).toBe(false);
  });

  it('creates the folder of its file', async () => {
    const path = join(tempFolder(), 'nested', 'deeper', 'events.sqlite');
    const store = new SqliteEventStore({ path });
    await store.open();
    await store.append('todos', [sampleEvent('a')]);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
    db.close();
  });

  it('reports a file it cannot open as storage_failure', async () => {
    const folder = tempFolder();
    const store = new SqliteEventStore({ path: folder, Database });
    await expect(store.open()).rejects.toMatchObject({ code: ERROR_CODES.storageFailure });
  });

  it('rolls a failing batch back whole', async () => {
    const store = new SqliteEventStore({ path: ':memory:', Database });
    await store.open();
    await store.append('todos', [sampleEvent('a')]);
    // Stores do not validate: an eventId SQLite cannot bind fails after 'b' was inserted.
    const bad = { ...sampleEvent('c'), eventId: { not: 'a string' } } as unknown as SyncEvent;
    await expect(store.append('todos', [sampleEvent('b'), bad])).rejects.toMatchObject({
      code: ERROR_CODES.storageFailure,
    });
    expect(await store.lastSequence('todos')).toBe(1);
    expect(await store.append('todos', [sampleEvent('b')])).toMatchObject([{ serverSequence: 2 }]);
    await store.close();
  });

  it('gives a file made before store_meta existed an id and an epoch on its first open', async () => {
    const path = join(tempFolder(), 'events.sqlite');
    const writer = new SqliteEventStore({ path, Database });
    await writer.open();
    await writer.append('todos', [sampleEvent('a')]);
    await writer.close();
    const db = new Database(path);
    db.exec('DROP TABLE store_meta');
    db.close();
    const upgraded = new SqliteEventStore({ path, Database });
    await upgraded.open();
    const epoch = await upgraded.epoch('todos');
    expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
    expect(await upgraded.storeId()).toMatch(/^[0-9a-f-]{36}$/);
    expect(await upgraded.lastSequence('todos')).toBe(1);
    await upgraded.close();
    const again = new SqliteEventStore({ path, Database });
    await again.open();
    expect(await again.epoch('todos')).toBe(epoch);
    await again.close();
  });

  it('is bound as a singleton by its module', () => {
    const container = createLocalFirstContainer(sqliteEventStoreModule({ path: ':memory:' }));
    const store = container.get<EventStore>(TOKENS.EventStore);
    expect(store).toBeInstanceOf(SqliteEventStore);
    expect(store.kind).toBe('sqlite');
    expect(container.get<EventStore>(TOKENS.EventStore)).toBe(store);
  });
});

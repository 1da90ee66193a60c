import { createLocalFirstContainer, type StorageAdapter, TOKENS } from '@local-first/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_SAVE_INTERVAL_MS,
  SqlJsStorageAdapter,
  type SqlJsStorageOptions,
  sqlJsStorageModule,
} from '../src/index.js';
import { event, RecordingPersister, record, snapshotPersister, sqlJs } from './helpers.js';

const opened: SqlJsStorageAdapter[] = [];
async function openAdapter(options: Omit<SqlJsStorageOptions, 'sqlJs'>) {
  const adapter = new SqlJsStorageAdapter({ sqlJs, ...options });
  await adapter.open();
  opened.push(adapter);
  return adapter;
}

/** What one saved file holds, read through a fresh adapter. */
async function contents(bytes: Uint8Array) {
  const adapter = await openAdapter({ persister: snapshotPersister(bytes) });
  return {
    records: (await adapter.queryRecords('tasks', { where: [], orderBy: [] })).map((r) => r.id),
    events: (await adapter.getEvents()).map((e) => e.eventId),
    cursor: await adapter.getMeta('cursor'),
  };
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.splice(0).map((adapter) => adapter.close().catch(() => undefined)));
});

describe('coalesced saves', () => {
  it('declares persistence only when a persister is given', async () => {
    expect(new SqlJsStorageAdapter({ sqlJs }).capabilities).toEqual({
      persistent: false,
      nativeQuery: true,
    });
    const persister = new RecordingPersister();
    expect(new SqlJsStorageAdapter({ sqlJs, persister }).capabilities.persistent).toBe(true);
    expect(DEFAULT_SAVE_INTERVAL_MS).toBe(1000);
  });

  it('saves once per interval, however many writes landed in it', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter({ persister, saveIntervalMs: 500 });
    vi.useFakeTimers();
    await adapter.putRecord('tasks', record('a'));
    await adapter.appendEvent(event('e-1'));
    await adapter.transaction(async (tx) => tx.setMeta('cursor', '1'));
    await vi.advanceTimersByTimeAsync(499);
    expect(persister.saves).toHaveLength(0);
    const saved = persister.nextSave();
    await vi.advanceTimersByTimeAsync(1);
    await saved;
    expect(persister.saves).toHaveLength(1);
    expect(await contents(persister.saves[0]!)).toEqual({
      records: ['a'],
      events: ['e-1'],
      cursor: '1',
    });
    // Nothing changed since: neither the timer nor flush() writes again.
    await vi.advanceTimersByTimeAsync(5000);
    await adapter.flush();
    expect(persister.saves).toHaveLength(1);
  });

  it('saves on flush() and on close(), and not for reads', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter({ persister, saveIntervalMs: 60_000 });
    await adapter.getRecord('tasks', 'a');
    await adapter.flush();
    expect(persister.saves).toHaveLength(0);
    await adapter.putRecord('tasks', record('a'));
    await adapter.flush();
    expect(persister.saves).toHaveLength(1);
    await adapter.putRecord('tasks', record('b'));
    await adapter.close();
    expect(persister.saves).toHaveLength(2);
    expect((await contents(persister.saves[1]!)).records).toEqual(['a', 'b']);
  });

  it('with flushEachTransaction, has saved every write before it resolves', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter({ persister, flushEachTransaction: true });
    await adapter.putRecord('tasks', record('a'));
    expect(persister.saves).toHaveLength(1);
    await adapter.transaction(async (tx) => {
      await tx.putRecord('tasks', record('b'));
      await tx.appendEvent(event('e-b'));
      await tx.setMeta('cursor', '2');
    });
    expect(persister.saves).toHaveLength(2);
    expect(await contents(persister.saves[1]!)).toEqual({
      records: ['a', 'b'],
      events: ['e-b'],
      cursor: '2',
    });
    await expect(
      adapter.transaction(async (tx) => {
        await tx.putRecord('tasks', record('c'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(persister.saves).toHaveLength(2);
  });
});

/** A persister whose saves wait until released, counting how many run at once. */
class GatedPersister extends RecordingPersister {
  started = 0;
  running = 0;
  mostAtOnce = 0;
  private gates: (() => void)[] = [];

  override async save(bytes: Uint8Array): Promise<void> {
    this.started++;
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    this.running--;
    await super.save(bytes);
  }

  /** Lets every save that is waiting finish. */
  release(): void {
    for (const open of this.gates.splice(0)) open();
  }
}

describe('a background save', () => {
  it('writes the file while later transactions run, one save at a time and in order', async () => {
    const persister = new GatedPersister();
    const adapter = await openAdapter({ persister, saveIntervalMs: 100 });
    vi.useFakeTimers();
    await adapter.putRecord('tasks', record('a'));
    await vi.advanceTimersByTimeAsync(100);
    expect(persister.started).toBe(1);
    // The file is still being written, and the adapter goes on reading and writing.
    await adapter.transaction(async (tx) => {
      await tx.putRecord('tasks', record('b'));
      await tx.setMeta('cursor', '2');
    });
    expect(await adapter.getRecord('tasks', 'b')).toStrictEqual(record('b'));
    // flush() waits for that write before it exports and saves the newer changes.
    const flushed = adapter.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(persister.started).toBe(1);
    persister.release();
    await vi.advanceTimersByTimeAsync(0);
    persister.release();
    await flushed;
    expect(persister.mostAtOnce).toBe(1);
    expect(persister.saves).toHaveLength(2);
    expect(await contents(persister.saves[0]!)).toEqual({
      records: ['a'],
      events: [],
      cursor: undefined,
    });
    expect(await contents(persister.saves[1]!)).toEqual({
      records: ['a', 'b'],
      events: [],
      cursor: '2',
    });
  });

  it('is finished by close() before the persister is released', async () => {
    const persister = new GatedPersister();
    const adapter = await openAdapter({ persister, saveIntervalMs: 100 });
    vi.useFakeTimers();
    await adapter.putRecord('tasks', record('a'));
    await vi.advanceTimersByTimeAsync(100);
    await adapter.putRecord('tasks', record('b'));
    let closed = false;
    const closing = adapter.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(false);
    persister.release();
    await vi.advanceTimersByTimeAsync(0);
    persister.release();
    await closing;
    expect(persister.mostAtOnce).toBe(1);
    expect((await contents(persister.saves.at(-1)!)).records).toEqual(['a', 'b']);
  });
});

describe('a remote batch is saved whole', () => {
  it('waits for a running transaction before exporting, so a save never splits it', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter({ persister, saveIntervalMs: 60_000 });
    await adapter.putRecord('tasks', record('before'));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const batch = adapter.transaction(async (tx) => {
      await tx.appendEvent(event('remote-1', { syncStatus: 'ok', local: false }));
      await tx.putRecord('tasks', record('remote-1'));
      entered();
      await gate;
      await tx.appendEvent(event('remote-2', { syncStatus: 'ok', local: false }));
      await tx.putRecord('tasks', record('remote-2'));
      await tx.setMeta('cursor', '2');
    });
    await inside;
    const flushed = adapter.flush();
    // The flush is queued behind the batch: nothing may be exported while the batch is open.
    await Promise.resolve();
    expect(persister.saves).toHaveLength(0);
    release();
    await Promise.all([batch, flushed]);
    expect(persister.saves).toHaveLength(1);
    expect(await contents(persister.saves[0]!)).toEqual({
      records: ['before', 'remote-1', 'remote-2'],
      events: ['remote-1', 'remote-2'],
      cursor: '2',
    });
  });
});

describe('failures', () => {
  it('reports a failed save as storage_failure and saves the same changes on the next flush', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter({ persister, saveIntervalMs: 60_000 });
    await adapter.putRecord('tasks', record('a'));
    persister.failNextSaves = 1;
    await expect(adapter.flush()).rejects.toMatchObject({ code: 'storage_failure' });
    await adapter.flush();
    expect((await contents(persister.saves[0]!)).records).toEqual(['a']);
  });

  it('logs a failed background save and keeps the changes for the next one', async () => {
    const persister = new RecordingPersister();
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const adapter = await openAdapter({ persister, saveIntervalMs: 100, logger });
    vi.useFakeTimers();
    persister.failNextSaves = 1;
    await adapter.putRecord('tasks', record('a'));
    await vi.advanceTimersByTimeAsync(100);
    // flush() waits for the write under way, finds the changes unsaved, and saves them.
    await adapter.flush();
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(persister.saves).toHaveLength(1);
    expect((await contents(persister.saves[0]!)).records).toEqual(['a']);
  });

  it('refuses a file that is not a database with storage_failure', async () => {
    const adapter = new SqlJsStorageAdapter({
      sqlJs,
      persister: snapshotPersister(
        new TextEncoder().encode('not a database, just text'.repeat(40)),
      ),
    });
    await expect(adapter.open()).rejects.toMatchObject({ code: 'storage_failure' });
  });

  it('refuses a file from a newer schema with unsupported', async () => {
    const db = new (await sqlJs).Database();
    db.exec('PRAGMA user_version = 99');
    const adapter = new SqlJsStorageAdapter({ sqlJs, persister: snapshotPersister(db.export()) });
    db.close();
    await expect(adapter.open()).rejects.toMatchObject({ code: 'unsupported' });
  });

  it('refuses bad options with invalid_argument', () => {
    const bad = { sqlJs, saveIntervalMs: -1 };
    expect(() => new SqlJsStorageAdapter(bad)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});

describe('dependency injection', () => {
  it('binds one adapter for the container', async () => {
    const container = createLocalFirstContainer(sqlJsStorageModule({ sqlJs }));
    const adapter = container.get<StorageAdapter>(TOKENS.StorageAdapter);
    expect(adapter).toBeInstanceOf(SqlJsStorageAdapter);
    expect(container.get<StorageAdapter>(TOKENS.StorageAdapter)).toBe(adapter);
  });
});

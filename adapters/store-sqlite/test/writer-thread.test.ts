import { ERROR_CODES } from '@local-first/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../src/index.js';
import type { WriterThread } from '../src/writer-thread.js';
import { sampleEvent, tempPath } from './fixtures.js';

/** Resolves after `turns` turns of the event loop, each one a real macrotask. */
async function turnsOfTheLoop(turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('SqliteEventStore: writer thread', () => {
  it('a commit that waits for the disk holds neither reads nor the event loop', async () => {
    const path = tempPath();
    const store = new SqliteEventStore({ path, busyTimeoutMs: 10_000 });
    await store.open();
    await store.append('todos', [sampleEvent('before')]);
    // Another connection takes the write lock: the next commit waits for it, as it would for
    // a slow fsync, until the lock is released.
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    let committed = false;
    const pending = store.append('todos', [sampleEvent('held')]).then((outcomes) => {
      committed = true;
      return outcomes;
    });
    // While the commit waits, the loop turns and reads are answered.
    await turnsOfTheLoop(20);
    const page = await store.readAfter('todos', 0, 10);
    expect({ committed, read: page.events.map((event) => event.eventId) }).toEqual({
      committed: false,
      read: ['before'],
    });
    locker.exec('COMMIT');
    locker.close();
    expect(await pending).toMatchObject([{ eventId: 'held', serverSequence: 2 }]);
    expect(await store.lastSequence('todos')).toBe(2);
    await store.close();
  });

  it('a thread that stops fails only its commits in flight; the next append gets a new thread', async () => {
    const store = new SqliteEventStore({ path: tempPath() });
    await store.open();
    await store.append('todos', [sampleEvent('a')]);
    // The thread ends as a crash would end it (its internals are reached for on purpose).
    const internals = store as unknown as { thread: Promise<WriterThread> };
    const thread = await internals.thread;
    const worker = (thread as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const inFlight = store.append('todos', [sampleEvent('b')]);
    await turnsOfTheLoop(1);
    await worker.terminate();
    const outcome = await inFlight.then(
      (outcomes) => ({ outcomes }),
      (error: { code?: string }) => ({ code: error.code }),
    );
    // Either the commit made it before the end, or it failed as a storage failure; never lost
    // silently: a re-push of "b" finds it or stores it.
    if ('code' in outcome) expect(outcome.code).toBe(ERROR_CODES.storageFailure);
    expect(thread.stopped?.code).toBe(ERROR_CODES.storageFailure);
    const again = await store.append('todos', [sampleEvent('b'), sampleEvent('c')]);
    expect(again.map((o) => o.eventId)).toEqual(['b', 'c']);
    expect(await store.lastSequence('todos')).toBe(3);
    await store.close();
  });

  it('close commits the appends queued for the thread, then ends it', async () => {
    const path = tempPath();
    const store = new SqliteEventStore({ path });
    await store.open();
    const pending = Array.from({ length: 30 }, (_, index) =>
      store.append(index % 3 === 0 ? 'notes' : 'todos', [sampleEvent(`e${index}`)]),
    );
    await store.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes.flat()).toHaveLength(30);
    const reader = new SqliteEventStore({ path });
    await reader.open();
    expect(await reader.lastSequence('todos')).toBe(20);
    expect(await reader.lastSequence('notes')).toBe(10);
    await reader.close();
    await expect(store.append('todos', [sampleEvent('late')])).rejects.toMatchObject({
      code: ERROR_CODES.closed,
    });
  });

  it('refuses a writer thread where it cannot open the file itself', () => {
    expect(() => new SqliteEventStore({ path: ':memory:', writer: 'thread' })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.invalidArgument }),
    );
    expect(() => new SqliteEventStore({ path: tempPath(), Database, writer: 'thread' })).toThrow(
      /injected/,
    );
  });
});

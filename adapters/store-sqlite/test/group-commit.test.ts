import { ERROR_CODES } from '@local-first/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../src/index.js';
import { sampleEvent, tempPath } from './fixtures.js';

/** better-sqlite3 with a count of the write transactions that ran (one fsync each). */
function countingDatabase() {
  const counts = { transactions: 0 };
  type Call = (...args: unknown[]) => unknown;
  class Counting extends Database {
    override transaction<F extends (...args: never[]) => unknown>(fn: F) {
      const made = super.transaction(fn);
      const counted = ((...args: unknown[]) => (made as unknown as Call)(...args)) as unknown;
      for (const kind of ['deferred', 'immediate', 'exclusive'] as const) {
        Object.defineProperty(counted, kind, {
          value: (...args: unknown[]) => {
            counts.transactions += 1;
            return (made[kind] as unknown as Call)(...args);
          },
        });
      }
      return counted as typeof made;
    }
  }
  return { counts, Database: Counting as unknown as typeof Database };
}

describe('SqliteEventStore: group commit', () => {
  it('commits the appends asked for in one turn together, in the order asked, each resolved after the commit', async () => {
    const { counts, Database: Counting } = countingDatabase();
    const path = tempPath();
    const store = new SqliteEventStore({ path, Database: Counting });
    await store.open();
    const before = counts.transactions;
    // Forty "connections" push in the same turn of the event loop, to two repositories.
    const pushes = Array.from({ length: 40 }, (_, index) =>
      store.append(index % 2 === 0 ? 'todos' : 'notes', [sampleEvent(`e${index}`)]),
    );
    const outcomes = await Promise.all(pushes);
    expect(counts.transactions - before).toBe(1);
    expect(outcomes.filter((_, index) => index % 2 === 0).map(([o]) => o!.serverSequence)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    // Resolved means committed: another connection to the file reads every one of them.
    const reader = new SqliteEventStore({ path });
    await reader.open();
    expect((await reader.readAfter('todos', 0, 100)).events).toHaveLength(20);
    expect((await reader.readAfter('notes', 0, 100)).events).toHaveLength(20);
    await reader.close();
    await store.close();
  });

  it('fails only the append that cannot be stored; the rest of its group commits', async () => {
    const store = new SqliteEventStore({ path: tempPath() });
    await store.open();
    const good = store.append('todos', [sampleEvent('a')]);
    const bad = store.append('todos', [sampleEvent('b', { size: 10n })]);
    const alsoGood = store.append('todos', [sampleEvent('c')]);
    await expect(bad).rejects.toMatchObject({ code: ERROR_CODES.invalidEvent });
    expect((await good).map((o) => o.serverSequence)).toEqual([1]);
    expect((await alsoGood).map((o) => o.serverSequence)).toEqual([2]);
    const page = await store.readAfter('todos', 0, 10);
    expect(page.events.map((event) => event.eventId)).toEqual(['a', 'c']);
    await store.close();
  });

  it('commits what is still queued when the store closes', async () => {
    const path = tempPath();
    const store = new SqliteEventStore({ path });
    await store.open();
    const pending = store.append('todos', [sampleEvent('last')]);
    await store.close();
    expect(await pending).toMatchObject([{ eventId: 'last', serverSequence: 1 }]);
    const reopened = new SqliteEventStore({ path });
    await reopened.open();
    expect(await reopened.lastSequence('todos')).toBe(1);
    await reopened.close();
  });

  it('off, each append is a transaction of its own', async () => {
    const { counts, Database: Counting } = countingDatabase();
    const store = new SqliteEventStore({
      path: tempPath(),
      Database: Counting,
      groupCommit: false,
    });
    await store.open();
    const before = counts.transactions;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.append('t', [sampleEvent(`${i}`)])),
    );
    expect(counts.transactions - before).toBe(5);
    await store.close();
  });
});

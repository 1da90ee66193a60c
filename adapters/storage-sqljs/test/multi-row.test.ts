import { ERROR_CODES, isLocalFirstError, type StoredEvent } from '@local-first/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlJsStorageAdapter } from '../src/index.js';
import { event, RecordingPersister, record, sqlJs } from './helpers.js';

// Batch writes go through multi-row inserts of 128, 32, 8 and 1 rows, with JSON bound as
// UTF-8 bytes: every length around those counts must write the same rows in the same order
// as one insert per row did, and a duplicate anywhere must leave nothing of its batch.

const opened: SqlJsStorageAdapter[] = [];
async function openAdapter(persister?: RecordingPersister) {
  const adapter = new SqlJsStorageAdapter({ sqlJs, ...(persister ? { persister } : {}) });
  await adapter.open();
  opened.push(adapter);
  return adapter;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((adapter) => adapter.close().catch(() => undefined)));
});

const LENGTHS = [1, 7, 8, 9, 31, 33, 127, 128, 129, 161, 1000, 1203];

const events = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) =>
    event(`${prefix}-${index}`, {
      data: { id: `task-${prefix}-${index}`, n: index },
      syncStatus: index % 3 === 0 ? 'ok' : 'pending',
    }),
  );

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the call should have failed'),
    (error: unknown) => error,
  );
}

/** What the saved file holds in its text columns: the SQL type of each, and the JSON. */
async function storedTypes(persister: RecordingPersister) {
  const db = new (await sqlJs).Database(persister.saves.at(-1));
  try {
    const types = (sql: string) => db.exec(sql)[0]?.values.map((row) => row[0]);
    return {
      body: types('SELECT DISTINCT typeof(body) FROM events'),
      data: types('SELECT DISTINCT typeof(data) FROM records'),
      ids: types('SELECT DISTINCT typeof(id) || typeof(hlc) || typeof(event_id) FROM records'),
    };
  } finally {
    db.close();
  }
}

describe('sqljs multi-row batch writes', () => {
  it('append events of every length in order, each read back as written', async () => {
    const adapter = await openAdapter();
    const written: StoredEvent[] = [];
    for (const [index, length] of LENGTHS.entries()) {
      const batch = events(length, `b${index}`);
      await adapter.appendEvents(batch);
      written.push(...batch);
    }
    expect(await adapter.getEvents()).toStrictEqual(written);
    const pending = written.filter((item) => item.syncStatus === 'pending');
    expect(await adapter.getEvents({ status: 'pending' })).toStrictEqual(pending);
  });

  it('put records of every length; within a batch and across batches the last one wins', async () => {
    const adapter = await openAdapter();
    for (const length of LENGTHS) {
      const ids = Array.from({ length }, (_, index) => `r-${index}`);
      // Each id twice in one batch, the second time with this batch's length.
      const batch = [...ids.map((id) => record(id)), ...ids.map((id) => record(id, { length }))];
      await adapter.putRecords('tasks', batch);
      const found = await adapter.getRecords('tasks', ids);
      expect(found.size).toBe(length);
      expect(found.get(`r-${length - 1}`)).toStrictEqual(record(`r-${length - 1}`, { length }));
    }
    const all = await adapter.queryRecords('tasks', { where: [], orderBy: [] });
    expect(all).toHaveLength(1203);
    expect(all.filter((item) => item.data?.length === 1203)).toHaveLength(1203);
  });

  it('refuse a duplicate in any statement of a batch, or repeated across statements', async () => {
    const adapter = await openAdapter();
    await adapter.appendEvents(events(3, 'old'));
    const fresh = events(1000, 'new');
    const cases: [StoredEvent[], string][] = [
      [[event('old-1'), ...fresh], 'old-1'], // in the first statement
      [[...fresh.slice(0, 900), event('old-2'), ...fresh.slice(900)], 'old-2'], // a later one
      [[...fresh, event('old-0')], 'old-0'], // in the one-row tail
      [[...fresh.slice(0, 500), fresh[3]!, ...fresh.slice(500)], 'new-3'], // a repeat
      [[...fresh, event('late'), event('late')], 'late'], // repeated in the tail
    ];
    for (const [batch, duplicate] of cases) {
      const error = await rejection(adapter.appendEvents(batch));
      expect(isLocalFirstError(error, ERROR_CODES.duplicateEvent)).toBe(true);
      expect((error as { details?: unknown }).details).toEqual({ eventId: duplicate });
    }
    expect((await adapter.getEvents()).map((item) => item.eventId)).toEqual([
      'old-0',
      'old-1',
      'old-2',
    ]);
    expect((await adapter.getEventStatuses(fresh.map((item) => item.eventId))).size).toBe(0);
  });

  it('name the first duplicate in batch order when the batch also holds unwritable data', async () => {
    const adapter = await openAdapter();
    await adapter.appendEvent(event('old'));
    const unwritable = event('bad', { data: { n: 10n } as unknown as Record<string, never> });
    const error = await rejection(
      adapter.appendEvents([...events(300, 'x'), unwritable, event('old')]),
    );
    expect(isLocalFirstError(error, ERROR_CODES.duplicateEvent)).toBe(true);
    const failed = await rejection(adapter.appendEvents([...events(300, 'x'), unwritable]));
    expect(isLocalFirstError(failed, ERROR_CODES.storageFailure)).toBe(true);
    expect((await adapter.getEvents()).map((item) => item.eventId)).toEqual(['old']);
  });

  it('inside a transaction, undo only the refused batch when the caller carries on', async () => {
    const adapter = await openAdapter();
    await adapter.transaction(async (tx) => {
      await tx.appendEvents!(events(200, 'kept'));
      await tx.putRecords!('tasks', [record('kept')]);
      const error = await rejection(tx.appendEvents!([...events(300, 'lost'), event('kept-5')]));
      expect(isLocalFirstError(error, ERROR_CODES.duplicateEvent)).toBe(true);
      await tx.appendEvents!(events(2, 'after'));
    });
    const ids = (await adapter.getEvents()).map((item) => item.eventId);
    expect(ids).toHaveLength(202);
    expect(ids.slice(-3)).toEqual(['kept-199', 'after-0', 'after-1']);
    expect(await adapter.getRecord('tasks', 'kept')).toStrictEqual(record('kept'));
  });

  it('inside a transaction that fails, keep nothing of its batches', async () => {
    const adapter = await openAdapter();
    await adapter.appendEvent(event('before'));
    const error = await rejection(
      adapter.transaction(async (tx) => {
        await tx.putRecords!(
          'tasks',
          Array.from({ length: 300 }, (_, index) => record(`r-${index}`)),
        );
        await tx.appendEvents!(events(300, 'x'));
        await tx.appendEvents!([event('y'), event('before')]);
      }),
    );
    expect(isLocalFirstError(error, ERROR_CODES.duplicateEvent)).toBe(true);
    expect((await adapter.getEvents()).map((item) => item.eventId)).toEqual(['before']);
    expect(await adapter.queryRecords('tasks', { where: [], orderBy: [] })).toEqual([]);
  });

  it('store JSON bound as bytes as text, unchanged, whatever its characters or size', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter(persister);
    const odd = {
      accents: 'héllo wörld',
      emoji: '👍🏽 𝄞',
      lone: '\ud800 and \udfff',
      controls: '\u0000\u0001\n\t"\\',
      quote: "it's",
    };
    // Larger than the first buffer of one statement, and many in the same statement.
    const big = {
      id: 'big',
      text: 'é'.repeat(300_000),
      list: Array.from({ length: 5000 }, String),
    };
    const records = [
      record('odd', odd),
      record('big', big),
      ...Array.from({ length: 150 }, (_, index) =>
        record(`m-${index}`, { text: 'x'.repeat(3000) }),
      ),
      { id: 'gone', data: null, deleted: true, hlc: 'hlc-gone', eventId: 'evt-gone' },
    ];
    await adapter.putRecords('tasks', records);
    const logged = [event('odd', { data: odd }), event('big', { data: big })];
    await adapter.appendEvents(logged);
    const found = await adapter.getRecords(
      'tasks',
      records.map((item) => item.id),
    );
    for (const item of records) expect(found.get(item.id)).toStrictEqual(item);
    expect(await adapter.getEvents()).toStrictEqual(logged);
    // SQLite reads it as text: JSON functions and so queries work on it.
    const matches = await adapter.queryRecords('tasks', {
      where: [{ field: 'emoji', op: '==', value: odd.emoji }],
      orderBy: [],
    });
    expect(matches.map((item) => item.id)).toEqual(['odd']);
    await adapter.flush();
    expect(await storedTypes(persister)).toEqual({
      body: ['text'],
      data: ['text', 'null'],
      ids: ['texttexttext'],
    });
  });
});

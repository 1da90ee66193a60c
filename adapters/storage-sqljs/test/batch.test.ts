import { ERROR_CODES, isLocalFirstError, type StoredRecord } from '@local-first/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlJsStorageAdapter } from '../src/index.js';
import { event, RecordingPersister, record, sqlJs } from './helpers.js';

// The batch methods beyond what the contract suite checks: lists longer than one `IN (…)`
// chunk, and batch writes outside `transaction()` that fail midway.

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

const ids = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

/** Data that `JSON.stringify` refuses, so a write fails after the ids were checked. */
const unwritable = { n: 10n } as unknown as Record<string, never>;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the call should have failed'),
    (error: unknown) => error,
  );
}

describe('sqljs batch methods', () => {
  it('read lists longer than one IN chunk, of every length, repeats and misses included', async () => {
    const adapter = await openAdapter();
    const stored = ids(1203, 'r');
    await adapter.putRecords(
      'tasks',
      stored.map((id) => record(id)),
    );
    for (const length of [0, 1, 2, 9, 33, 129, 500, 501, 1203]) {
      const head = stored.slice(0, length);
      const asked = [...head, 'missing', ...head.slice(0, 3)];
      const found = await adapter.getRecords('tasks', asked);
      expect(found.size).toBe(length);
      if (length > 0) expect(found.get(`r-${length - 1}`)).toStrictEqual(record(`r-${length - 1}`));
    }
    expect((await adapter.getRecords('notes', stored)).size).toBe(0);
  });

  it('answer statuses across chunks, in another namespace nothing', async () => {
    const adapter = await openAdapter();
    const logged = ids(1100, 'e');
    await adapter.appendEvents(
      logged.map((id, index) => event(id, index % 2 ? { syncStatus: 'ok' } : {})),
    );
    const statuses = await adapter.getEventStatuses([...logged, 'e-unknown']);
    expect(statuses.size).toBe(1100);
    expect(statuses.get('e-1098')).toBe('pending');
    expect(statuses.get('e-1099')).toBe('ok');
    await adapter.useNamespace('other');
    expect((await adapter.getEventStatuses(logged)).size).toBe(0);
  });

  it('refuse a duplicate in a later chunk before appending any of the batch', async () => {
    const adapter = await openAdapter();
    await adapter.appendEvent(event('old'));
    const fresh = ids(1200, 'e').map((id) => event(id));
    const error = await rejection(adapter.appendEvents([...fresh, event('old')]));
    expect(isLocalFirstError(error, ERROR_CODES.duplicateEvent)).toBe(true);
    const repeated = await rejection(adapter.appendEvents([...fresh, event('e-7')]));
    expect(isLocalFirstError(repeated, ERROR_CODES.duplicateEvent)).toBe(true);
    expect((await adapter.getEvents()).map((item) => item.eventId)).toEqual(['old']);
    await adapter.appendEvents(fresh);
    expect(await adapter.getEvents({ limit: 3 })).toHaveLength(3);
    expect((await adapter.getEvents()).at(-1)?.eventId).toBe('e-1199');
  });

  it('outside a transaction, keep nothing of a batch write that fails midway', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter(persister);
    const records: StoredRecord[] = [record('a'), record('b', unwritable), record('c')];
    const failedPut = await rejection(adapter.putRecords('tasks', records));
    expect(isLocalFirstError(failedPut, ERROR_CODES.storageFailure)).toBe(true);
    expect((await adapter.getRecords('tasks', ['a', 'b', 'c'])).size).toBe(0);
    const events = [event('e-1'), event('e-2', { data: unwritable }), event('e-3')];
    const failedAppend = await rejection(adapter.appendEvents(events));
    expect(isLocalFirstError(failedAppend, ERROR_CODES.storageFailure)).toBe(true);
    expect(await adapter.getEvents()).toEqual([]);
    // The adapter still works, and saves what the next batch wrote.
    await adapter.appendEvents([event('e-1')]);
    await adapter.flush();
    expect(persister.saves).toHaveLength(1);
  });

  it('commit and save nothing for an empty batch, and refuse one after close', async () => {
    const persister = new RecordingPersister();
    const adapter = await openAdapter(persister);
    await adapter.putRecords('tasks', []);
    await adapter.appendEvents([]);
    await adapter.flush();
    expect(persister.saves).toHaveLength(0);
    await adapter.close();
    const error = await rejection(adapter.appendEvents([]));
    expect(isLocalFirstError(error, ERROR_CODES.closed)).toBe(true);
  });
});

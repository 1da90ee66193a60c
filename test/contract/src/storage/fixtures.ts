import {
  type ErrorCode,
  type OrderClause,
  type QuerySpec,
  type RecordData,
  type StorageAdapter,
  type StoredEvent,
  type StoredRecord,
  SyncOperation,
  type WhereClause,
} from '@local-first/core';
import { formatHlc, type StorageReader } from '@local-first/core/adapter';
import { expect } from 'vitest';

/** A fixed clock stamp; `tick` orders fixtures without reading any real clock. */
export function stamp(tick: number): string {
  return formatHlc({ wall: 1_700_000_000_000 + tick, counter: 0 }, 'contract');
}

/** A live record whose data carries its own id, as repositories store them. */
export function record(id: string, data: RecordData = {}, tick = 1): StoredRecord {
  return {
    id,
    data: { id, ...data },
    deleted: false,
    hlc: stamp(tick),
    eventId: `evt-${id}-${tick}`,
  };
}

/** The state a delete leaves behind. */
export function tombstone(id: string, tick = 2): StoredRecord {
  return { id, data: null, deleted: true, hlc: stamp(tick), eventId: `evt-${id}-${tick}` };
}

/** A local pending insert of `tasks`, unless `overrides` say otherwise. */
export function event(eventId: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  const dataId = overrides.dataId ?? `task-${eventId}`;
  return {
    eventId,
    repository: 'tasks',
    operation: SyncOperation.insert,
    createdAt: '2024-05-01T12:00:00.000Z',
    dataId,
    data: { id: dataId, title: `title of ${eventId}` },
    hlc: stamp(10),
    syncStatus: 'pending',
    local: true,
    ...overrides,
  };
}

export async function putAll(
  adapter: StorageAdapter,
  repository: string,
  records: readonly StoredRecord[],
): Promise<void> {
  for (const item of records) await adapter.putRecord(repository, item);
}

export async function appendAll(
  adapter: StorageAdapter,
  events: readonly StoredEvent[],
): Promise<void> {
  for (const item of events) await adapter.appendEvent(item);
}

/** A query spec with nothing but what is given. */
export function spec(
  where: WhereClause[] = [],
  orderBy: OrderClause[] = [],
  extra: Omit<QuerySpec, 'where' | 'orderBy'> = {},
): QuerySpec {
  return { where, orderBy, ...extra };
}

/** The ids a query returns, in the order it returns them. */
export async function queryIds(
  reader: StorageReader,
  repository: string,
  query: QuerySpec,
): Promise<string[]> {
  return (await reader.queryRecords(repository, query)).map((item) => item.id);
}

export function eventIds(events: readonly StoredEvent[]): string[] {
  return events.map((item) => item.eventId);
}

/** Settles `promise` and returns what it rejected with; fails the test when it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to reject, but it fulfilled');
    },
    (error: unknown) => error,
  );
}

/**
 * Expects a `LocalFirstError` with `code`. It matches on the name and the code rather than with
 * `instanceof`, so an adapter built against another copy of core still passes.
 */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await rejection(promise);
  expect(error).toMatchObject({ name: 'LocalFirstError', code });
}

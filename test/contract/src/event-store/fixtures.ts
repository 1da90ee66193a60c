import type { EventStore, SyncEvent } from '@local-first/core';
import type { AppendOutcome, ServerEvent } from '@local-first/core/adapter';
import { expect } from 'vitest';

/** What the suite hands to `setup` each time it needs a fresh store. */
export interface EventStoreSetupContext {
  /** The server clock the store must stamp `serverCreatedAt` with; the suite moves it. */
  now: () => Date;
}

/** What `setup` returns: a new, unopened store over empty data, and how to remove that data. */
export interface EventStoreFixture {
  /**
   * A store that is not opened yet, over data that no other fixture shares. The suite calls
   * `open()` itself and closes it before `teardown`.
   */
  store: EventStore;
  /**
   * Removes what setup made (files, databases); the suite has closed every store by then.
   * Leave it out when there is nothing to remove.
   */
  teardown?(): Promise<void>;
  /**
   * Given by stores whose data outlives them: a new, unopened store over the same data, with the
   * same clock. The suite calls it after closing `store`, then opens and closes what it returns.
   */
  reopen?(): Promise<EventStore>;
  /**
   * Given by stores that several server nodes share: a new, unopened store over the same data
   * that works at the same time as `store` (its own connection). The suite opens and closes it.
   */
  node?(): Promise<EventStore>;
}

/** Builds one isolated fixture; the suite calls it before every test (and some tests again). */
export type EventStoreSetup = (context: EventStoreSetupContext) => Promise<EventStoreFixture>;

/** What the test groups use: the running test's opened store, its clock, and more fixtures. */
export interface SuiteContext {
  /** The running test's store, opened. */
  readonly store: EventStore;
  readonly clock: ManualClock;
  /** True when the fixture can reopen its data. */
  readonly canReopen: boolean;
  /** A new store over the running test's data, opened; the suite closes it after the test. */
  reopen(): Promise<EventStore>;
  /** True when the fixture can give more stores that share its data at the same time. */
  readonly canAddNodes: boolean;
  /** One more store over the running test's data, opened; the suite closes it after the test. */
  node(): Promise<EventStore>;
  /** Another fixture from `setup`, on the same clock, not opened; torn down after the test. */
  anotherFixture(): Promise<EventStoreFixture>;
}

/** The instant every test starts at. */
export const START_TIME = '2025-01-23T10:00:00.000Z';

/** A clock that moves only when a test moves it. */
export class ManualClock {
  private ms: number;

  constructor(start: string = START_TIME) {
    this.ms = Date.parse(start);
  }

  now(): Date {
    return new Date(this.ms);
  }

  iso(): string {
    return new Date(this.ms).toISOString();
  }

  set(iso: string): void {
    this.ms = Date.parse(iso);
  }

  advance(ms: number): string {
    this.ms += ms;
    return this.iso();
  }
}

/** A valid insert event with deterministic content, derived from its id. */
export function sampleEvent(eventId: string, overrides: Partial<SyncEvent> = {}): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: '2025-01-23T09:59:00.000Z',
    dataId: `record-${eventId}`,
    data: { id: `record-${eventId}`, title: `Title of ${eventId}` },
    hlc: '0001737626340000:00000:client-a',
    ...overrides,
  };
}

/** `count` events with ids `${prefix}-001`, `${prefix}-002`, … */
export function sampleEvents(prefix: string, count: number): SyncEvent[] {
  return Array.from({ length: count }, (_, index) =>
    sampleEvent(`${prefix}-${String(index + 1).padStart(3, '0')}`),
  );
}

/** The outcome `append` must report for one event. */
export function outcome(
  eventId: string,
  serverSequence: number,
  serverCreatedAt: string,
  duplicate = false,
): AppendOutcome {
  return { eventId, serverSequence, serverCreatedAt, duplicate };
}

/** What the store must hand back for an event it stored. */
export function asStored(
  event: SyncEvent,
  serverSequence: number,
  serverCreatedAt: string,
): ServerEvent {
  const { serverSequence: _sequence, serverCreatedAt: _createdAt, ...sent } = event;
  return { ...sent, serverSequence, serverCreatedAt };
}

/** Every event of a repository, read in pages of `pageSize`. */
export async function readAll(
  store: EventStore,
  repository: string,
  pageSize = 1000,
): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  let cursor = 0;
  for (;;) {
    const page = await store.readAfter(repository, cursor, pageSize);
    events.push(...page.events);
    cursor = page.lastSequence;
    if (!page.hasMore) return events;
  }
}

/** Asserts that `work` fails with a `LocalFirstError` of the given code. */
export async function expectCode(work: () => Promise<unknown>, code: string): Promise<void> {
  await expect((async () => work())()).rejects.toMatchObject({ name: 'LocalFirstError', code });
}

/** The optional members of `EventStore`: capabilities a store may not offer. */
export type Capability = 'findEvents' | 'epoch' | 'newEpoch' | 'storeId';

/** Skips the running test when the store lacks the optional member: a capability it does not offer. */
export function requireCapability(
  store: EventStore,
  member: Capability,
  skip: (note: string) => void,
): void {
  if (store[member] === undefined) skip(`the store has no ${member}()`);
}

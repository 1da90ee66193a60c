import type { EventStore, SyncEvent } from '@local-first/core';
import type { AppendOutcome, ServerEvent } from '@local-first/core/adapter';
import { expect, it } from 'vitest';
import { readAll, type SuiteContext, sampleEvent, sampleEvents } from './fixtures.js';

/** The shape of a concurrent run: how many writers, appends each, and events per append. */
export interface ConcurrentRun {
  writers: number;
  appendsPerWriter: number;
  eventsPerAppend: number;
  readerPageSize: number;
}

export const DEFAULT_CONCURRENT_RUN: ConcurrentRun = {
  writers: 8,
  appendsPerWriter: 12,
  eventsPerAppend: 4,
  readerPageSize: 5,
};

/** What a concurrent run saw: every outcome per event id, and what the reader read in order. */
export interface ConcurrentResult {
  outcomes: Map<string, AppendOutcome[]>;
  read: ServerEvent[];
  /** Every distinct event id that was sent. */
  eventIds: Set<string>;
}

/**
 * Runs `writers` callers that append to one repository at once while a reader tails it with
 * `readAfter`. Each append also carries one id that every writer sends in the same round, so
 * the same eventId races from several callers. The reader never polls: when it is caught up it
 * waits for the next append to finish, and stops once all writers are done and it read to the
 * end. `writerStores[i % length]` serves writer i, so callers can give one connection each.
 */
export async function runConcurrentAppends(
  writerStores: readonly EventStore[],
  readerStore: EventStore,
  repository: string,
  run: ConcurrentRun = DEFAULT_CONCURRENT_RUN,
): Promise<ConcurrentResult> {
  const outcomes = new Map<string, AppendOutcome[]>();
  const eventIds = new Set<string>();
  let progress = deferred();
  let writersDone = false;

  const writer = async (index: number): Promise<void> => {
    const store = writerStores[index % writerStores.length]!;
    for (let round = 0; round < run.appendsPerWriter; round += 1) {
      const events: SyncEvent[] = Array.from({ length: run.eventsPerAppend - 1 }, (_, n) =>
        sampleEvent(`w${index}-r${round}-e${n}`),
      );
      events.splice(index % run.eventsPerAppend, 0, sampleEvent(`shared-r${round}`));
      for (const event of events) eventIds.add(event.eventId);
      const result = await store.append(repository, events);
      for (const reported of result) {
        outcomes.set(reported.eventId, [...(outcomes.get(reported.eventId) ?? []), reported]);
      }
      const finished = progress;
      progress = deferred();
      finished.resolve();
    }
  };

  const writing = Promise.all(
    Array.from({ length: run.writers }, (_, index) => writer(index)),
  ).finally(() => {
    writersDone = true;
    progress.resolve();
  });

  const read: ServerEvent[] = [];
  const reading = (async () => {
    let cursor = 0;
    for (;;) {
      // Taken before the read, so an append that ends during the read still wakes the reader.
      const doneBefore = writersDone;
      const next = progress.promise;
      const page = await readerStore.readAfter(repository, cursor, run.readerPageSize);
      read.push(...page.events);
      cursor = page.lastSequence;
      if (page.events.length > 0) continue;
      if (doneBefore) return;
      await next;
    }
  })();

  await Promise.all([writing, reading]);
  return { outcomes, read, eventIds };
}

/** Asserts what every concurrent run must show: each id once, gap-free, in order, agreed by all. */
export function expectConsistentRun(result: ConcurrentResult): void {
  const total = result.eventIds.size;
  const sequences = new Map<string, number>();
  const stamps = new Map<string, string>();
  for (const [eventId, outcomes] of result.outcomes) {
    expect(
      outcomes.filter((outcome) => !outcome.duplicate),
      eventId,
    ).toHaveLength(1);
    expect(new Set(outcomes.map((outcome) => outcome.serverSequence)).size, eventId).toBe(1);
    expect(new Set(outcomes.map((outcome) => outcome.serverCreatedAt)).size, eventId).toBe(1);
    sequences.set(eventId, outcomes[0]!.serverSequence);
    stamps.set(eventId, outcomes[0]!.serverCreatedAt);
  }
  expect(sequences.size).toBe(total);
  expect([...sequences.values()].sort((a, b) => a - b)).toEqual(
    Array.from({ length: total }, (_, index) => index + 1),
  );
  expect(result.read.map((event) => event.serverSequence)).toEqual(
    Array.from({ length: total }, (_, index) => index + 1),
  );
  expect(new Set(result.read.map((event) => event.eventId)).size).toBe(total);
  for (const event of result.read) {
    expect(event.serverSequence).toBe(sequences.get(event.eventId));
    expect(event.serverCreatedAt).toBe(stamps.get(event.eventId));
  }
}

/** Several callers at once on one store. */
export function concurrencyTests(context: SuiteContext): void {
  it('gives concurrent appends unique gap-free sequences that a tailing reader sees once, in order', async () => {
    const { store } = context;
    const result = await runConcurrentAppends([store], store, 'todos');
    expectConsistentRun(result);
    expect(await store.lastSequence('todos')).toBe(result.eventIds.size);
    expect(await readAll(store, 'todos')).toEqual(result.read);
  });

  it('gives writers on 8 separate nodes one gap-free order that a tailing node reads once', async (testContext) => {
    if (!context.canAddNodes) {
      // Skipped by capability: the setup offers no node() sharing the same data.
      testContext.skip('the store cannot be opened as several nodes over the same data');
      return;
    }
    const writers: EventStore[] = [];
    for (let index = 0; index < 8; index += 1) writers.push(await context.node());
    const reader = await context.node();
    const run = { writers: 8, appendsPerWriter: 25, eventsPerAppend: 4, readerPageSize: 7 };
    const result = await runConcurrentAppends(writers, reader, 'todos', run);
    expectConsistentRun(result);
    expect(result.read).toHaveLength(8 * 25 * 3 + 25);
    expect(await context.store.lastSequence('todos')).toBe(result.read.length);
  });

  it('stores an eventId once when 8 nodes append the same batch at the same time', async (testContext) => {
    if (!context.canAddNodes) {
      // Skipped by capability: the setup offers no node() sharing the same data.
      testContext.skip('the store cannot be opened as several nodes over the same data');
      return;
    }
    const writers: EventStore[] = [];
    for (let index = 0; index < 8; index += 1) writers.push(await context.node());
    const batch = sampleEvents('same', 20);
    const results = await Promise.all(writers.map((store) => store.append('todos', batch)));
    for (const [index, event] of batch.entries()) {
      const outcomes = results.map((outcomes) => outcomes[index]!);
      expect(
        outcomes.filter((outcome) => !outcome.duplicate),
        event.eventId,
      ).toHaveLength(1);
      expect(new Set(outcomes.map((outcome) => outcome.serverSequence)).size).toBe(1);
      expect(new Set(outcomes.map((outcome) => outcome.serverCreatedAt)).size).toBe(1);
    }
    expect(await context.store.lastSequence('todos')).toBe(20);
    expect((await readAll(context.store, 'todos')).map((event) => event.eventId)).toEqual(
      batch.map((event) => event.eventId),
    );
  });

  it('keeps concurrent appends to different repositories in their own sequences', async () => {
    const { store } = context;
    const repositories = ['todos', 'todos:archive', 'notes', 'tags'];
    await Promise.all(
      repositories.flatMap((repository) =>
        Array.from({ length: 6 }, (_, round) =>
          store.append(repository, [sampleEvent(`r${round}-a`), sampleEvent(`r${round}-b`)]),
        ),
      ),
    );
    for (const repository of repositories) {
      const events = await readAll(store, repository);
      expect(
        events.map((event) => event.serverSequence),
        repository,
      ).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
      expect(new Set(events.map((event) => event.eventId)).size, repository).toBe(12);
    }
  });
}

/** A promise with its resolve function (Node 20 has no `Promise.withResolvers`). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

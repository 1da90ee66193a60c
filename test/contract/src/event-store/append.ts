import type { SyncEvent } from '@local-first/core';
import { expect, it } from 'vitest';
import {
  asStored,
  outcome,
  readAll,
  type SuiteContext,
  sampleEvent,
  sampleEvents,
} from './fixtures.js';

/** Appending: sequences, stamps, exact round trips and deduplication. */
export function appendTests(context: SuiteContext): void {
  it('assigns sequences from 1 in batch order, one outcome per event', async () => {
    const { store, clock } = context;
    const t0 = clock.iso();
    const first = await store.append('todos', sampleEvents('a', 3));
    expect(first).toEqual([
      outcome('a-001', 1, t0),
      outcome('a-002', 2, t0),
      outcome('a-003', 3, t0),
    ]);
    const t1 = clock.advance(5);
    const second = await store.append('todos', [sampleEvent('b-001')]);
    expect(second).toEqual([outcome('b-001', 4, t1)]);
    const stored = await readAll(store, 'todos');
    expect(stored.map((event) => [event.serverSequence, event.eventId])).toEqual([
      [1, 'a-001'],
      [2, 'a-002'],
      [3, 'a-003'],
      [4, 'b-001'],
    ]);
  });

  it('stamps serverCreatedAt with the injected server clock, ISO-8601 with milliseconds', async () => {
    const { store, clock } = context;
    clock.set('2025-01-23T10:00:00.123Z');
    await store.append('todos', sampleEvents('a', 2));
    const later = clock.advance(1_001);
    await store.append('todos', [sampleEvent('b-001')]);
    const stored = await readAll(store, 'todos');
    expect(stored.map((event) => event.serverCreatedAt)).toEqual([
      '2025-01-23T10:00:00.123Z',
      '2025-01-23T10:00:00.123Z',
      later,
    ]);
    expect(later).toBe('2025-01-23T10:00:01.124Z');
  });

  it('returns each event exactly as sent, unknown fields included, plus the server fields', async () => {
    const { store, clock } = context;
    const withExtras = {
      ...sampleEvent('extra'),
      origin: { device: 'tablet', build: [4, 2, 0] },
      note: null,
    } as SyncEvent;
    const sent: SyncEvent[] = [
      sampleEvent('insert', {
        data: {
          id: 'r-1',
          title: 'Grüße, 世界 🙂 "quoted" \\ back\nslash',
          count: -42,
          ratio: 0.1,
          huge: 1e21,
          tiny: 5e-324,
          done: false,
          nothing: null,
          empty: '',
          nested: { list: [1, 'two', { three: [null, true] }], deep: { deeper: {} } },
        },
      }),
      { eventId: 'no-hlc', operation: 1, createdAt: START, dataId: 'r-1', data: { id: 'r-1' } },
      { eventId: 'delete', operation: 2, createdAt: START, dataId: 'r-1', data: null, hlc: 'h' },
      withExtras,
    ];
    await store.append('todos', sent);
    const stored = await readAll(store, 'todos');
    expect(stored).toStrictEqual(
      sent.map((event, index) => asStored(event, index + 1, clock.iso())),
    );
  });

  it('replaces server fields that the client sent with its own', async () => {
    const { store, clock } = context;
    const forged = sampleEvent('forged', {
      serverSequence: 999,
      serverCreatedAt: '1999-12-31T23:59:59.999Z',
    });
    const [result] = await store.append('todos', [forged]);
    expect(result).toEqual(outcome('forged', 1, clock.iso()));
    const [stored] = await readAll(store, 'todos');
    expect(stored).toStrictEqual(asStored(forged, 1, clock.iso()));
  });

  it('keeps what it stored when callers mutate their objects afterwards', async () => {
    const { store, clock } = context;
    const event = sampleEvent('a');
    const original = structuredClone(event);
    await store.append('todos', [event]);
    event.dataId = 'changed';
    (event.data as { title: string }).title = 'changed';
    const [read] = await readAll(store, 'todos');
    expect(read).toStrictEqual(asStored(original, 1, clock.iso()));
    read!.dataId = 'changed again';
    const [again] = await readAll(store, 'todos');
    expect(again).toStrictEqual(asStored(original, 1, clock.iso()));
  });

  it('acknowledges a re-sent event as a duplicate with its original sequence', async () => {
    const { store, clock } = context;
    const firstStamp = clock.iso();
    await store.append('todos', sampleEvents('a', 3));
    clock.advance(60_000);
    const resent = sampleEvent('a-002', { data: { id: 'x', title: 'a different body' } });
    const outcomes = await store.append('todos', [resent]);
    expect(outcomes).toEqual([outcome('a-002', 2, firstStamp, true)]);
    expect(await store.lastSequence('todos')).toBe(3);
    const stored = await readAll(store, 'todos');
    expect(stored).toHaveLength(3);
    expect(stored[1]).toStrictEqual(asStored(sampleEvent('a-002'), 2, firstStamp));
  });

  it('treats a repeat inside one batch as a duplicate of its first occurrence', async () => {
    const { store, clock } = context;
    const t0 = clock.iso();
    const [a, b, c] = sampleEvents('e', 3) as [SyncEvent, SyncEvent, SyncEvent];
    const outcomes = await store.append('todos', [a, b, { ...a, dataId: 'other' }, c, b]);
    expect(outcomes).toEqual([
      outcome('e-001', 1, t0),
      outcome('e-002', 2, t0),
      outcome('e-001', 1, t0, true),
      outcome('e-003', 3, t0),
      outcome('e-002', 2, t0, true),
    ]);
    const stored = await readAll(store, 'todos');
    expect(stored.map((event) => [event.serverSequence, event.eventId, event.dataId])).toEqual([
      [1, 'e-001', 'record-e-001'],
      [2, 'e-002', 'record-e-002'],
      [3, 'e-003', 'record-e-003'],
    ]);
  });

  it('keeps sequences gap-free when a batch mixes new and duplicate events', async () => {
    const { store } = context;
    await store.append('todos', [sampleEvent('a'), sampleEvent('b')]);
    const outcomes = await store.append(
      'todos',
      ['c', 'a', 'd', 'b', 'e'].map((id) => sampleEvent(id)),
    );
    expect(
      outcomes.map((result) => [result.eventId, result.serverSequence, result.duplicate]),
    ).toEqual([
      ['c', 3, false],
      ['a', 1, true],
      ['d', 4, false],
      ['b', 2, true],
      ['e', 5, false],
    ]);
    const stored = await readAll(store, 'todos');
    expect(stored.map((event) => event.eventId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(stored.map((event) => event.serverSequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it('stores nothing and reports nothing for an empty batch', async () => {
    const { store } = context;
    expect(await store.append('todos', [])).toEqual([]);
    expect(await store.lastSequence('todos')).toBe(0);
    expect(await store.listRepositories()).toEqual([]);
  });

  it('scopes deduplication to the repository', async () => {
    const { store, clock } = context;
    const event = sampleEvent('shared');
    const t0 = clock.iso();
    expect(await store.append('todos', [event])).toEqual([outcome('shared', 1, t0)]);
    const t1 = clock.advance(1);
    expect(await store.append('notes', [event])).toEqual([outcome('shared', 1, t1)]);
  });
}

const START = '2025-01-23T09:00:00.000Z';

import { ERROR_CODES } from '@local-first/core';
import { expect, it } from 'vitest';
import { expectCode, type SuiteContext, sampleEvent, sampleEvents } from './fixtures.js';

const ids = (page: { events: { eventId: string }[] }) => page.events.map((event) => event.eventId);

/** Reading: pages after a sequence, pages since a time, the last sequence, the repository list. */
export function readTests(context: SuiteContext): void {
  it('pages through readAfter with hasMore and lastSequence', async () => {
    const { store } = context;
    const events = sampleEvents('e', 10);
    await store.append('todos', events.slice(0, 4));
    await store.append('todos', events.slice(4));
    const pages = [];
    for (const after of [0, 3, 6, 9]) pages.push(await store.readAfter('todos', after, 3));
    expect(pages.map((page) => [ids(page), page.hasMore, page.lastSequence])).toEqual([
      [['e-001', 'e-002', 'e-003'], true, 3],
      [['e-004', 'e-005', 'e-006'], true, 6],
      [['e-007', 'e-008', 'e-009'], true, 9],
      [['e-010'], false, 10],
    ]);
    expect(pages.flatMap((page) => page.events.map((event) => event.serverSequence))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
  });

  it('says hasMore false when a page ends exactly at the last event', async () => {
    const { store } = context;
    await store.append('todos', sampleEvents('e', 5));
    const whole = await store.readAfter('todos', 0, 5);
    expect([whole.events.length, whole.hasMore, whole.lastSequence]).toEqual([5, false, 5]);
    const tail = await store.readAfter('todos', 2, 3);
    expect([ids(tail), tail.hasMore, tail.lastSequence]).toEqual([
      ['e-003', 'e-004', 'e-005'],
      false,
      5,
    ]);
    const roomy = await store.readAfter('todos', 1, 1000);
    expect([roomy.events.length, roomy.hasMore, roomy.lastSequence]).toEqual([4, false, 5]);
  });

  it('answers an empty readAfter page with the cursor it was asked for', async () => {
    const { store } = context;
    expect(await store.readAfter('todos', 0, 10)).toEqual({
      events: [],
      hasMore: false,
      lastSequence: 0,
    });
    await store.append('todos', sampleEvents('e', 3));
    expect(await store.readAfter('todos', 3, 10)).toEqual({
      events: [],
      hasMore: false,
      lastSequence: 3,
    });
  });

  it('answers a readAfter past the end with the highest sequence the log holds', async () => {
    const { store } = context;
    // The caller has seen more than the log holds (it was restored from a backup, or wiped):
    // the page must say so, never echo a cursor the log does not reach.
    expect(await store.readAfter('unknown', 7, 10)).toEqual({
      events: [],
      hasMore: false,
      lastSequence: 0,
    });
    await store.append('todos', sampleEvents('e', 3));
    expect(await store.readAfter('todos', 50, 10)).toEqual({
      events: [],
      hasMore: false,
      lastSequence: 3,
    });
  });

  it('reads since a server time, inclusive, in sequence order', async () => {
    const { store, clock } = context;
    const t0 = clock.iso();
    await store.append('todos', [sampleEvent('a'), sampleEvent('b')]);
    const t1 = clock.advance(1_000);
    await store.append('todos', [sampleEvent('c')]);
    clock.advance(1_000);
    await store.append('todos', [sampleEvent('d'), sampleEvent('e')]);
    const since = async (iso: string) => {
      const page = await store.readSince('todos', iso, 10);
      return [ids(page), page.hasMore, page.lastSequence];
    };
    expect(await since('1970-01-01T00:00:00.000Z')).toEqual([['a', 'b', 'c', 'd', 'e'], false, 5]);
    expect(await since(t0)).toEqual([['a', 'b', 'c', 'd', 'e'], false, 5]);
    expect(await since(t1)).toEqual([['c', 'd', 'e'], false, 5]);
    expect(await since(shift(t1, -1))).toEqual([['c', 'd', 'e'], false, 5]);
    expect(await since(shift(t1, 1))).toEqual([['d', 'e'], false, 5]);
    const page = await store.readSince('todos', t1, 10);
    expect(page.events.map((event) => event.serverSequence)).toEqual([3, 4, 5]);
  });

  it('pages readSince with limit and hasMore, continuing with readAfter', async () => {
    const { store, clock } = context;
    await store.append('todos', sampleEvents('old', 2));
    const t1 = clock.advance(1_000);
    await store.append('todos', sampleEvents('new', 3));
    const first = await store.readSince('todos', t1, 2);
    expect([ids(first), first.hasMore, first.lastSequence]).toEqual([
      ['new-001', 'new-002'],
      true,
      4,
    ]);
    const next = await store.readAfter('todos', first.lastSequence, 2);
    expect([ids(next), next.hasMore, next.lastSequence]).toEqual([['new-003'], false, 5]);
  });

  it('accepts since in any ISO-8601 spelling of the same instant', async () => {
    const { store, clock } = context;
    clock.set('2025-01-23T10:00:00.000Z');
    await store.append('todos', [sampleEvent('a')]);
    clock.set('2025-01-23T10:00:01.000Z');
    await store.append('todos', [sampleEvent('b')]);
    for (const spelling of ['2025-01-23T10:00:01Z', '2025-01-23T11:00:01.000+01:00']) {
      expect(ids(await store.readSince('todos', spelling, 10))).toEqual(['b']);
    }
  });

  it('answers an empty readSince page with the last sequence older than since', async () => {
    const { store, clock } = context;
    expect(await store.readSince('todos', clock.iso(), 10)).toEqual({
      events: [],
      hasMore: false,
      lastSequence: 0,
    });
    await store.append('todos', sampleEvents('e', 3));
    const future = shift(clock.iso(), 60_000);
    expect(await store.readSince('todos', future, 10)).toEqual({
      events: [],
      hasMore: false,
      lastSequence: 3,
    });
  });

  it('never stamps an event earlier than the one before it, even when the clock steps back', async () => {
    const { store, clock } = context;
    const t1 = clock.iso();
    await store.append('todos', [sampleEvent('a')]);
    clock.advance(-5_000);
    await store.append('todos', [sampleEvent('b')]);
    const page = await store.readSince('todos', t1, 10);
    expect(page.events.map((event) => [event.eventId, event.serverCreatedAt])).toEqual([
      ['a', t1],
      ['b', t1],
    ]);
    // Another repository has its own history: its first stamp is the clock's.
    await store.append('notes', [sampleEvent('c')]);
    const [note] = (await store.readAfter('notes', 0, 10)).events;
    expect(note?.serverCreatedAt).toBe(clock.iso());
  });

  it('reports the last sequence of a repository, 0 when it holds nothing', async () => {
    const { store } = context;
    expect(await store.lastSequence('todos')).toBe(0);
    await store.append('todos', sampleEvents('e', 4));
    await store.append('notes', sampleEvents('n', 1));
    expect(await store.lastSequence('todos')).toBe(4);
    expect(await store.lastSequence('notes')).toBe(1);
    expect(await store.lastSequence('tags')).toBe(0);
  });

  it('lists the repositories that hold events', async () => {
    const { store } = context;
    expect(await store.listRepositories()).toEqual([]);
    await store.append('todos', [sampleEvent('a')]);
    await store.append('notes', [sampleEvent('b')]);
    await store.append('empty', []);
    expect([...(await store.listRepositories())].sort()).toEqual(['notes', 'todos']);
  });

  it('rejects a limit, a cursor or a since it cannot use with invalid_argument', async () => {
    const { store } = context;
    await store.append('todos', [sampleEvent('a')]);
    const invalid = ERROR_CODES.invalidArgument;
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expectCode(() => store.readAfter('todos', 0, limit), invalid);
      await expectCode(() => store.readSince('todos', '2025-01-01T00:00:00.000Z', limit), invalid);
    }
    for (const after of [-1, 0.5, Number.NaN]) {
      await expectCode(() => store.readAfter('todos', after, 10), invalid);
    }
    for (const since of ['', 'yesterday', '2025-13-45T99:00:00Z']) {
      await expectCode(() => store.readSince('todos', since, 10), invalid);
    }
  });
}

/** The ISO instant `ms` milliseconds after (or before) `iso`. */
function shift(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

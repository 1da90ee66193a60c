import { expect, it } from 'vitest';
import { asStored, outcome, readAll, type SuiteContext, sampleEvent } from './fixtures.js';

/**
 * Names that a store keyed by string concatenation, prefix matching, LIKE patterns, case folding
 * or Unicode normalization would mix up. Each must be a stream of its own.
 */
export const TRICKY_REPOSITORIES: readonly string[] = [
  'a',
  'ab',
  'a:b',
  'a/b',
  'a.b',
  'a b',
  'a ',
  'A',
  'a%',
  'a_',
  'a*',
  "a'b",
  'a"b',
  'a\\b',
  'a\tb',
  'a;b',
  'a\u200bb',
  '\u00e9',
  'e\u0301',
  '日本語',
  '🙂',
  'ﬁ',
  'fi',
];

/** Event ids that must stay distinct for the same reasons. */
export const TRICKY_EVENT_IDS: readonly string[] = [
  'x',
  'X',
  'x ',
  ' x',
  'x:y',
  'x/y',
  'x%',
  'x_',
  "x'y",
  'x\\y',
  '\u00e9',
  'e\u0301',
  'ид',
  '🙂',
  '0193f0c2-7b1e-7cc0-9a61-2f1d0f3b9e55',
];

/** Repository names and event ids that must never bleed into each other; big payloads. */
export function nameTests(context: SuiteContext): void {
  it('keeps repositories with sibling, prefixed and look-alike names apart', async () => {
    const { store } = context;
    // Repository i gets i % 3 + 1 events whose ids repeat across repositories.
    for (const [index, repository] of TRICKY_REPOSITORIES.entries()) {
      const events = Array.from({ length: (index % 3) + 1 }, (_, n) =>
        sampleEvent(`e-${n + 1}`, { data: { id: `e-${n + 1}`, repository } }),
      );
      const outcomes = await store.append(repository, events);
      expect(outcomes.map((result) => result.serverSequence)).toEqual(events.map((_, n) => n + 1));
    }
    for (const [index, repository] of TRICKY_REPOSITORIES.entries()) {
      const count = (index % 3) + 1;
      expect(await store.lastSequence(repository), repository).toBe(count);
      const events = await readAll(store, repository);
      expect(
        events.map((event) => [
          event.serverSequence,
          (event.data as { repository: string }).repository,
        ]),
        repository,
      ).toEqual(Array.from({ length: count }, (_, n) => [n + 1, repository]));
      const since = await store.readSince(repository, '2000-01-01T00:00:00.000Z', 100);
      expect(since.events.length, repository).toBe(count);
    }
    const listed = await store.listRepositories();
    expect([...listed].sort()).toEqual([...TRICKY_REPOSITORIES].sort());
  });

  it('keeps event ids apart that differ by case, space, separator or normalization', async () => {
    const { store, clock } = context;
    const events = TRICKY_EVENT_IDS.map((eventId) => sampleEvent(eventId));
    const first = await store.append('todos', events);
    expect(first).toEqual(
      TRICKY_EVENT_IDS.map((eventId, index) => outcome(eventId, index + 1, clock.iso())),
    );
    clock.advance(1_000);
    const again = await store.append('todos', [...events].reverse());
    expect(again).toEqual([...first].reverse().map((result) => ({ ...result, duplicate: true })));
    const stored = await readAll(store, 'todos');
    expect(stored.map((event) => event.eventId)).toEqual(TRICKY_EVENT_IDS);
  });

  it('stores events of 1 MiB and gives them back intact', async () => {
    const { store, clock } = context;
    const mebibyte = 1024 * 1024;
    const ascii = sampleEvent('big-ascii', { data: { id: 'big', body: 'x'.repeat(mebibyte) } });
    // 'ab€😀' is 9 bytes of UTF-8: a payload of multi-byte characters past 1 MiB.
    const wide = sampleEvent('big-wide', {
      data: { id: 'wide', body: 'ab€😀'.repeat(Math.ceil(mebibyte / 9)) },
    });
    const outcomes = await store.append('files', [ascii, wide]);
    expect(outcomes.map((result) => result.serverSequence)).toEqual([1, 2]);
    const stored = await readAll(store, 'files');
    expect(stored).toStrictEqual([asStored(ascii, 1, clock.iso()), asStored(wide, 2, clock.iso())]);
  });
}

import { ERROR_CODES } from '@local-first/core';
import { expect, it } from 'vitest';
import {
  asStored,
  expectCode,
  outcome,
  readAll,
  type SuiteContext,
  sampleEvent,
  sampleEvents,
} from './fixtures.js';

/** Closing, and what survives a reopen for stores whose data outlives them. */
export function lifecycleTests(context: SuiteContext): void {
  it('rejects every call after close with the code closed; close may be repeated', async () => {
    const { store } = context;
    await store.append('todos', [sampleEvent('a')]);
    await store.close();
    await store.close();
    const calls: (() => Promise<unknown>)[] = [
      () => store.append('todos', [sampleEvent('b')]),
      () => store.readAfter('todos', 0, 10),
      () => store.readSince('todos', '2025-01-01T00:00:00.000Z', 10),
      () => store.lastSequence('todos'),
      () => store.listRepositories(),
    ];
    for (const call of calls) await expectCode(call, ERROR_CODES.closed);
  });

  it('refuses every call before open() with the code not_initialized', async () => {
    const { store } = await context.anotherFixture();
    const calls: (() => Promise<unknown>)[] = [
      () => store.append('todos', [sampleEvent('a')]),
      () => store.readAfter('todos', 0, 10),
      () => store.readSince('todos', '2025-01-01T00:00:00.000Z', 10),
      () => store.lastSequence('todos'),
      () => store.listRepositories(),
    ];
    for (const call of calls) await expectCode(call, ERROR_CODES.notInitialized);
  });

  it('keeps events, sequences, stamps and deduplication across a reopen', async (testContext) => {
    const { store, clock } = context;
    if (!context.canReopen) {
      // Skipped by capability: the setup offers no reopen() (the store is not persistent).
      testContext.skip('the store does not survive a reopen');
      return;
    }
    const t0 = clock.iso();
    const todos = sampleEvents('t', 3);
    await store.append('todos', todos);
    await store.append('notes', [sampleEvent('n-001')]);
    const before = await readAll(store, 'todos');
    await store.close();

    const again = await context.reopen();
    expect(await readAll(again, 'todos')).toStrictEqual(before);
    expect(before).toStrictEqual(todos.map((event, index) => asStored(event, index + 1, t0)));
    expect(await again.lastSequence('todos')).toBe(3);
    expect([...(await again.listRepositories())].sort()).toEqual(['notes', 'todos']);

    // The clock stepped back while the server was down: stamps still never decrease.
    clock.advance(-60_000);
    const outcomes = await again.append('todos', [sampleEvent('t-002'), sampleEvent('t-004')]);
    expect(outcomes).toEqual([outcome('t-002', 2, t0, true), outcome('t-004', 4, t0)]);
    const [added] = (await again.readAfter('todos', 3, 10)).events;
    expect(added).toStrictEqual(asStored(sampleEvent('t-004'), 4, t0));
  });
}

import { ERROR_CODES } from '@local-first/core';
import type { AppendOutcome } from '@local-first/core/adapter';
import { expect, it } from 'vitest';
import {
  expectCode,
  outcome,
  requireCapability,
  type SuiteContext,
  sampleEvent,
  sampleEvents,
} from './fixtures.js';

/** `findEvents` answers in any order: compare by sequence. */
function bySequence(outcomes: AppendOutcome[]): AppendOutcome[] {
  return [...outcomes].sort((left, right) => left.serverSequence - right.serverSequence);
}

/**
 * The optional `findEvents`: how the events of a list that a repository already holds were
 * stored, which lets a sync server acknowledge a re-sent event instead of judging it again.
 * Each test is skipped by capability when the store lacks it.
 */
export function lookupTests(context: SuiteContext): void {
  it('reports held events as duplicates with their first sequence and stamp, each once', async (testContext) => {
    const { store, clock } = context;
    requireCapability(store, 'findEvents', testContext.skip);
    const t0 = clock.iso();
    await store.append('todos', sampleEvents('a', 3));
    const t1 = clock.advance(5);
    await store.append('todos', [sampleEvent('b-001')]);
    clock.advance(60_000);
    const found = await store.findEvents!('todos', ['b-001', 'missing', 'a-002', 'a-002']);
    expect(bySequence(found)).toEqual([
      outcome('a-002', 2, t0, true),
      outcome('b-001', 4, t1, true),
    ]);
  });

  it('agrees with what appending the same events again reports', async (testContext) => {
    const { store, clock } = context;
    requireCapability(store, 'findEvents', testContext.skip);
    await store.append('todos', sampleEvents('e', 4));
    clock.advance(1_000);
    const ids = ['e-004', 'e-001', 'e-003'];
    const found = await store.findEvents!('todos', ids);
    const again = await store.append(
      'todos',
      ids.map((id) => sampleEvent(id)),
    );
    expect(bySequence(found)).toEqual(bySequence(again));
  });

  it('finds nothing for an empty list, an unknown repository or another repository', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'findEvents', testContext.skip);
    expect(await store.findEvents!('todos', ['a'])).toEqual([]);
    await store.append('todos', [sampleEvent('a')]);
    expect(await store.findEvents!('todos', [])).toEqual([]);
    expect(await store.findEvents!('notes', ['a'])).toEqual([]);
    expect(await store.findEvents!('todos', ['A', 'a '])).toEqual([]);
  });

  it('finds every held event of a list longer than one query takes', async (testContext) => {
    const { store, clock } = context;
    requireCapability(store, 'findEvents', testContext.skip);
    const held = sampleEvents('held', 1_200);
    await store.append('todos', held);
    // Held and unknown ids interleaved, so every chunk of the list has some of each.
    const asked = held.flatMap((event, index) => [`unknown-${index}`, event.eventId]);
    const found = await store.findEvents!('todos', [...asked, 'unknown-last']);
    expect(bySequence(found)).toEqual(
      held.map((event, index) => outcome(event.eventId, index + 1, clock.iso(), true)),
    );
  });

  it('finds what another node stored, and what survives a reopen', async (testContext) => {
    const { store, clock } = context;
    requireCapability(store, 'findEvents', testContext.skip);
    if (!context.canAddNodes && !context.canReopen)
      testContext.skip('the store has neither other nodes nor data that outlives it');
    const t0 = clock.iso();
    if (context.canAddNodes) {
      await (await context.node()).append('todos', [sampleEvent('elsewhere')]);
      expect(await store.findEvents!('todos', ['elsewhere'])).toEqual([
        outcome('elsewhere', 1, t0, true),
      ]);
    } else {
      await store.append('todos', [sampleEvent('elsewhere')]);
    }
    if (!context.canReopen) return;
    await store.close();
    const again = await context.reopen();
    expect(await again.findEvents!('todos', ['elsewhere'])).toEqual([
      outcome('elsewhere', 1, t0, true),
    ]);
  });

  it('refuses findEvents before open() and after close()', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'findEvents', testContext.skip);
    const unopened = (await context.anotherFixture()).store;
    await expectCode(() => unopened.findEvents!('todos', ['a']), ERROR_CODES.notInitialized);
    await store.close();
    await expectCode(() => store.findEvents!('todos', ['a']), ERROR_CODES.closed);
  });
}

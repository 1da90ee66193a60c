import { ERROR_CODES, type EventStore } from '@local-first/core';
import { expect, it } from 'vitest';
import {
  expectCode,
  readAll,
  requireCapability,
  type SuiteContext,
  sampleEvent,
  sampleEvents,
} from './fixtures.js';

/**
 * The optional members of protocol revision 1.1: `epoch` names a repository's log and changes
 * only when the log is recreated or `newEpoch()` is called; `storeId` never changes for the
 * store's data. Each test is skipped by capability when the store lacks the member it needs.
 */
export function epochTests(context: SuiteContext): void {
  it('names a log with an epoch that appends and reads leave alone', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'epoch', testContext.skip);
    const first = await store.epoch!('todos');
    expect(typeof first).toBe('string');
    expect(first).not.toBe('');
    await store.append('todos', sampleEvents('e', 3));
    await store.readAfter('todos', 0, 10);
    expect(await store.epoch!('todos')).toBe(first);
    expect(typeof (await store.epoch!('never-written'))).toBe('string');
  });

  it('gives the log of new, empty data another epoch and another store id', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'epoch', testContext.skip);
    const other = (await context.anotherFixture()).store;
    await other.open();
    try {
      expect(await other.epoch!('todos')).not.toBe(await store.epoch!('todos'));
      if (store.storeId) expect(await other.storeId!()).not.toBe(await store.storeId());
    } finally {
      await other.close();
    }
  });

  it('keeps the epoch and the store id across a reopen', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'epoch', testContext.skip);
    if (!context.canReopen) testContext.skip('the store does not survive a reopen');
    await store.append('todos', [sampleEvent('a')]);
    const epoch = await store.epoch!('todos');
    const id = await store.storeId?.();
    await store.close();
    const again = await context.reopen();
    expect(await again.epoch!('todos')).toBe(epoch);
    expect(await again.storeId?.()).toBe(id);
  });

  it('shows the same epoch and store id to every node over the same data', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'epoch', testContext.skip);
    if (!context.canAddNodes) testContext.skip('the store has no other nodes');
    const node = await context.node();
    expect(await node.epoch!('todos')).toBe(await store.epoch!('todos'));
    expect(await node.storeId?.()).toBe(await store.storeId?.());
  });

  it('newEpoch gives a new epoch and keeps the events, the sequences and the store id', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'newEpoch', testContext.skip);
    requireCapability(store, 'epoch', testContext.skip);
    await store.append('todos', sampleEvents('e', 2));
    const before = await store.epoch!('todos');
    const id = await store.storeId?.();
    const stored = await readAll(store, 'todos');
    const fresh = await store.newEpoch!();
    expect(fresh).not.toBe(before);
    expect(await store.epoch!('todos')).toBe(fresh);
    expect(await readAll(store, 'todos')).toStrictEqual(stored);
    expect(await store.storeId?.()).toBe(id);
    const [next] = await store.append('todos', [sampleEvent('e-003')]);
    expect(next?.serverSequence).toBe(3);
    if (!context.canReopen) return;
    await store.close();
    expect(await (await context.reopen()).epoch!('todos')).toBe(fresh);
  });

  it('refuses the epoch members before open() and after close()', async (testContext) => {
    const { store } = context;
    requireCapability(store, 'epoch', testContext.skip);
    const calls = (target: EventStore): (() => Promise<unknown>)[] => [
      () => target.epoch!('todos'),
      ...(target.newEpoch ? [() => target.newEpoch!()] : []),
      ...(target.storeId ? [() => target.storeId!()] : []),
    ];
    const unopened = (await context.anotherFixture()).store;
    for (const call of calls(unopened)) await expectCode(call, ERROR_CODES.notInitialized);
    await store.close();
    for (const call of calls(store)) await expectCode(call, ERROR_CODES.closed);
  });
}

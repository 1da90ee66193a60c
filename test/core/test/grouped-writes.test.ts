import {
  ERROR_CODES,
  LocalFirstError,
  type StoredEvent,
  type SyncStrategy,
} from '@local-first/core';
import { describe, expect, it, vi } from 'vitest';
import { collect, makeClient, RecordingStrategy, todo } from './fixtures.js';

/** Refuses to push a todo titled "huge", as a strategy does an event over the frame limit. */
class LimitedStrategy extends RecordingStrategy {
  readonly batches: string[][] = [];
  assertPushable(event: StoredEvent): void {
    if ((event.data as { title?: string } | null)?.title === 'huge')
      throw new LocalFirstError(ERROR_CODES.eventTooLarge, 'too large to push');
  }
  onPushManyToRemote(events: readonly StoredEvent[]): void {
    this.batches.push(events.map((event) => event.dataId));
  }
}

describe('single writes asked for in a burst', () => {
  it('go into one transaction: one commit, one emission, one push', async () => {
    const strategy = new LimitedStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy as SyncStrategy] });
    await client.start();
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 0);
    const transactions = vi.spyOn(client.storage, 'transaction');
    const writes = Array.from({ length: 50 }, (_, i) => todos.upsert(todo(`t${i}`)));
    const events = await Promise.all(writes);
    // Each write resolves with its own event.
    expect(events.map((event) => event.dataId)).toEqual(
      Array.from({ length: 50 }, (_, i) => `t${i}`),
    );
    expect(transactions).toHaveBeenCalledTimes(1);
    await watched.until((items) => items.length === 50);
    expect(watched.values.map((items) => items.length)).toEqual([0, 50]);
    expect(strategy.batches.map((batch) => batch.length)).toEqual([50]);
    await client.dispose();
  });

  it('a write refused alone fails alone; the others of its transaction are stored', async () => {
    const strategy = new LimitedStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy as SyncStrategy] });
    const outcomes = await Promise.allSettled([
      todos.upsert(todo('a')),
      todos.upsert(todo('b', 'huge')),
      todos.upsert(todo('c')),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({
      code: ERROR_CODES.eventTooLarge,
    });
    expect((await todos.query().get()).map((item) => item.id)).toEqual(['a', 'c']);
    expect(await client.getPendingEvents()).toHaveLength(2);
    await client.dispose();
  });

  it('a failure of the storage fails every write of the transaction, and stores none', async () => {
    const { client, todos } = await makeClient();
    const failing = new LocalFirstError(ERROR_CODES.storageFailure, 'the disk is gone');
    const real = client.storage.transaction.bind(client.storage);
    vi.spyOn(client.storage, 'transaction').mockImplementationOnce((work) =>
      real(async (tx) => {
        await work(tx);
        throw failing;
      }),
    );
    const outcomes = await Promise.allSettled([todos.upsert(todo('a')), todos.upsert(todo('b'))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await todos.query().get()).toEqual([]);
    await todos.upsert(todo('c'));
    expect((await todos.query().get()).map((item) => item.id)).toEqual(['c']);
    await client.dispose();
  });

  it('a write asked for after a client.transaction lands after it', async () => {
    const { client, todos } = await makeClient();
    const first = todos.upsert(todo('x', 'first'));
    const inTransaction = client.transaction(async (tx) => {
      await tx.upsert(todos, todo('x', 'from the transaction'));
    });
    const last = todos.upsert(todo('x', 'last'));
    await Promise.all([first, inTransaction, last]);
    expect((await todos.getById('x'))?.title).toBe('last');
    await client.dispose();
  });
});

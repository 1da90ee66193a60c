import {
  LocalFirstClient,
  Repository,
  type StorageAdapter,
  type StoredEvent,
  silentLogger,
} from '@local-first/core';
import {
  ChangeLog,
  Emitter,
  type ExternalCommit,
  type StorageTransaction,
} from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { describe, expect, it } from 'vitest';
import { collect, RecordingStrategy, type Todo, todo } from './fixtures.js';

/**
 * Two views of one store, as two tabs have them: each view's commits reach the other view's
 * `externalCommits`, the way the leading tab tells the others.
 */
function sharedStore(): [StorageAdapter, StorageAdapter] {
  const store = new MemoryStorageAdapter();
  let opened: Promise<void> | undefined;
  const views: StorageAdapter[] = [];
  const feeds = [new Emitter<ExternalCommit>(), new Emitter<ExternalCommit>()];
  for (const index of [0, 1]) {
    const other = feeds[1 - index]!;
    const view: StorageAdapter = Object.create(store, {
      externalCommits: { value: feeds[index] },
      open: { value: () => (opened ??= store.open()) },
      close: { value: async () => {} },
      transaction: {
        value: async <T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> => {
          const log = new ChangeLog();
          const result = await store.transaction((tx) => work(log.wrap(tx)));
          other.emit(log.toCommit(store.namespace));
          return result;
        },
      },
    });
    views.push(view);
  }
  return [views[0]!, views[1]!];
}

class BatchRecordingStrategy extends RecordingStrategy {
  readonly batches: string[][] = [];
  onPushManyToRemote(events: readonly StoredEvent[]): void {
    this.batches.push(events.map((event) => event.dataId));
  }
}

async function tab(storage: StorageAdapter, now: () => number, strategy?: RecordingStrategy) {
  const todos = new Repository<Todo>({ name: 'todos' });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: storage,
    syncStrategies: strategy ? [strategy] : [],
    logger: silentLogger,
    now,
  });
  await client.initialize();
  return { client, todos };
}

describe('commits of another client over the same store', () => {
  it('reach the watches and the pending count, and their pending events the strategies', async () => {
    const [one, two] = sharedStore();
    const leaderStrategy = new BatchRecordingStrategy();
    const follower = await tab(one, Date.now);
    const leader = await tab(two, Date.now, leaderStrategy);
    await leader.client.start();
    const watched = collect(leader.todos.query().watch());
    await watched.until((items) => items.length === 0);
    let pendingSignals = 0;
    leader.client.pendingChanges.subscribe(() => pendingSignals++);

    await follower.todos.upsertMany([todo('a'), todo('b')]);
    const seen = await watched.until((items) => items.length === 2);
    expect(seen.map((item) => item.id)).toEqual(['a', 'b']);
    expect(pendingSignals).toBe(1);
    expect(leaderStrategy.batches).toEqual([['a', 'b']]);
    // The strategy's acknowledgement, made in the leader, reaches the follower's count.
    await leader.client.markSynced(leaderStrategy.pushed.map((event) => event.eventId));
    await leader.client.markSynced(
      (await leader.todos.getPendingEvents()).map((event) => event.eventId),
    );
    expect(await follower.todos.getPendingEvents()).toEqual([]);
    await Promise.all([follower.client.dispose(), leader.client.dispose()]);
  });

  it('keep one clock: a tab whose clock lags still stamps after what the other stamped', async () => {
    const [one, two] = sharedStore();
    const ahead = await tab(one, () => Date.parse('2030-01-01T00:00:00Z'));
    const behind = await tab(two, () => Date.parse('2020-01-01T00:00:00Z'));
    const first = await ahead.todos.upsert(todo('a'));
    const second = await behind.todos.upsert(todo('a', 'later'));
    expect(second.hlc! > first.hlc!).toBe(true);
    expect(await ahead.todos.getById('a')).toMatchObject({ title: 'later' });
    await Promise.all([ahead.client.dispose(), behind.client.dispose()]);
  });
});

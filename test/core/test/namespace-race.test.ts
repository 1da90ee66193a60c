import type { StorageTransaction } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { describe, expect, it } from 'vitest';
import { makeClient, todo } from './fixtures.js';

/** A memory adapter whose next transaction holds the queue until `release()`. */
class GatedStorage extends MemoryStorageAdapter {
  private gate: Promise<void> | undefined;
  release: () => void = () => undefined;

  holdNext(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  override transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    const gate = this.gate;
    this.gate = undefined;
    return super.transaction(async (tx) => {
      await gate;
      return work(tx);
    });
  }
}

describe('sync writes around a namespace switch', () => {
  it('never lands a write asked for in one namespace in the next one', async () => {
    const storage = new GatedStorage();
    const { client, todos } = await makeClient({ localStorage: storage });
    const mine = await todos.upsert(todo('a'));
    storage.holdNext();
    // A slow transaction is under way when the app switches to another user.
    const slow = client.setConfigValue('x', '1').then(() => client.applyRemoteEvents('todos', []));
    const write = todos.upsert(todo('b'));
    const switching = client.useNamespace('bob');
    // A strategy that still works for alice answers late: the switch is queued ahead of it.
    const synced = client.markSynced([mine!.eventId], { key: 'cursor', value: 'alice-position' });
    const requeued = client.requeueLocalEvents('todos');
    storage.release();
    await Promise.all([slow, write, switching, synced, requeued]);
    expect(client.namespace).toBe('bob');
    expect(await client.storage.getMeta('cursor')).toBeUndefined();
    expect(await requeued).toEqual([]);
    await client.dispose();
  });
});

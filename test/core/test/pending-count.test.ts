import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { describe, expect, it, vi } from 'vitest';
import { collect, makeClient, RecordingStrategy, todo } from './fixtures.js';

describe('client.pendingCount', () => {
  it('follows writes, acknowledgements, verdicts and requeues without reading per write', async () => {
    const strategy = new RecordingStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy] });
    const counts = collect(client.pendingCount);
    await counts.until((count) => count === 0);
    const reads = vi.spyOn(client.storage, 'getEvents');

    for (let i = 0; i < 20; i++) await todos.upsert(todo(`t${i}`));
    await todos.upsertMany([todo('m1'), todo('m2')]);
    await todos.delete('t0');
    expect(client.pendingCount.value).toBe(23);
    // Twenty-three writes, and the count never read the log to follow them.
    expect(reads).not.toHaveBeenCalled();

    const host = strategy.host!;
    const pending = await host.getPendingEvents();
    await host.markSynced(pending.slice(0, 10).map((event) => event.eventId));
    expect(client.pendingCount.value).toBe(13);
    await host.rejectEvents([
      { eventId: pending[10]!.eventId, code: 'forbidden', message: 'no', source: 'server' },
    ]);
    expect(client.pendingCount.value).toBe(12);
    // An acknowledgement of events already acknowledged changes nothing.
    await host.markSynced(pending.slice(0, 10).map((event) => event.eventId));
    expect(client.pendingCount.value).toBe(12);
    // Set pending again (a restored server log): counted again, from one read.
    await host.requeueLocalEvents('todos');
    await collect(client.pendingCount).until((count) => count === 22);
    expect(await client.getPendingEvents()).toHaveLength(22);
    await client.dispose();
  });

  it('counts what storage held before the client started, per namespace', async () => {
    const storage = new MemoryStorageAdapter();
    const first = await makeClient({ localStorage: storage });
    await first.todos.upsertMany([todo('a'), todo('b'), todo('c')]);
    await first.client.useNamespace('other');
    await first.todos.upsert(todo('x'));
    await first.client.settled();
    expect(first.client.pendingCount.value).toBe(1);
    await first.client.useNamespace('default');
    await collect(first.client.pendingCount).until((count) => count === 3);
    await first.client.dispose();
  });

  it('counts what storage held when the client started', async () => {
    const storage = new MemoryStorageAdapter();
    const first = await makeClient({ localStorage: storage });
    await first.todos.upsertMany([todo('a'), todo('b')]);
    // A second client over the same open store, as after a reload of the page.
    const second = await makeClient({ localStorage: storage });
    await collect(second.client.pendingCount).until((count) => count === 2);
  });

  it('a write while the count is read is counted once', async () => {
    const storage = new MemoryStorageAdapter();
    const read = storage.getEvents.bind(storage);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The count's first read sees the store before the write, and answers after it.
    vi.spyOn(storage, 'getEvents').mockImplementationOnce(async (query) => {
      const events = await read(query);
      await gate;
      return events;
    });
    const { client, todos } = await makeClient({ localStorage: storage });
    await todos.upsert(todo('during'));
    release();
    await collect(client.pendingCount).until((count) => count === 1);
    await todos.upsert(todo('after'));
    expect(client.pendingCount.value).toBe(2);
    await client.dispose();
  });
});

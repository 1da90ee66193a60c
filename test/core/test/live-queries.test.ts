import { ERROR_CODES, isLocalFirstError, Repository, type StoredEvent } from '@local-first/core';
import { describe, expect, it, vi } from 'vitest';
import { collect, makeClient, RecordingStrategy, remoteTodo, type Todo, todo } from './fixtures.js';

/** A strategy that takes the events of one transaction together, as the WebSocket one does. */
class BatchRecordingStrategy extends RecordingStrategy {
  readonly batches: string[][] = [];
  onPushManyToRemote(events: readonly StoredEvent[]): void {
    this.batches.push(events.map((event) => event.dataId));
  }
}

const ids = (items: readonly { id: string }[]) => items.map((item) => item.id);

describe('writes of many records', () => {
  it('upsertMany: one storage transaction, one emission, the events pushed together', async () => {
    const strategy = new BatchRecordingStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy] });
    await client.start();
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 0);
    const transactions = vi.spyOn(client.storage, 'transaction');
    const events = await todos.upsertMany(
      Array.from({ length: 1000 }, (_, i) => todo(String(i).padStart(4, '0'))),
    );
    expect(events).toHaveLength(1000);
    expect(transactions).toHaveBeenCalledTimes(1);
    await watched.until((items) => items.length === 1000);
    expect(watched.values.map((items) => items.length)).toEqual([0, 1000]);
    expect(strategy.batches.map((batch) => batch.length)).toEqual([1000]);
    expect(strategy.pushed).toEqual([]);
    expect(await todos.getPendingEvents()).toHaveLength(1000);
    await client.dispose();
  });

  it('deleteMany leaves tombstones and writes nothing for ids that are absent', async () => {
    const { client, todos } = await makeClient();
    await todos.upsertMany([todo('a'), todo('b')]);
    const events = await todos.deleteMany(['a', 'b', 'never']);
    expect(events.map((event) => [event.dataId, event.operation])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    expect(await todos.query().get()).toEqual([]);
    expect(await todos.getById('a', { includeDeleted: true })).toEqual({ id: 'a', _deleted: true });
    await client.dispose();
  });

  it('one id twice in upsertMany: two events, the last one wins', async () => {
    const { client, todos } = await makeClient();
    const events = await todos.upsertMany([todo('a', 'first'), todo('a', 'second')]);
    expect(events.map((event) => event.operation)).toEqual([0, 1]);
    expect(await todos.getById('a')).toMatchObject({ title: 'second' });
    await client.dispose();
  });

  it('a bad record in upsertMany rejects with invalid_record and stores none', async () => {
    const { client, todos } = await makeClient();
    const bad = { title: 'no id' } as unknown as Todo;
    await expect(todos.upsertMany([todo('a'), bad])).rejects.toMatchObject({
      code: ERROR_CODES.invalidRecord,
    });
    expect(await todos.query().get()).toEqual([]);
    await client.dispose();
  });
});

describe('client.transaction', () => {
  const twoRepositories = async () => {
    const todos = new Repository<Todo>({ name: 'todos' });
    const lists = new Repository<{ id: string; name: string }>({ name: 'lists' });
    const strategy = new BatchRecordingStrategy();
    const made = await makeClient({ repositories: [todos, lists], syncStrategies: [strategy] });
    await made.client.start();
    return { ...made, todos, lists, strategy };
  };

  it('commits the writes of several repositories together, and reads see earlier writes', async () => {
    const { client, todos, lists, strategy } = await twoRepositories();
    const watched = collect(lists.query().watch());
    await watched.until((items) => items.length === 0);
    const seen = await client.transaction(async (tx) => {
      await tx.upsert(lists, { id: 'l1', name: 'groceries' });
      await tx.upsertMany(todos, [todo('1'), todo('2')]);
      await tx.delete(todos, '2');
      return tx.getById(todos, '2', { includeDeleted: true });
    });
    expect(seen).toEqual({ id: '2', _deleted: true });
    expect(ids(await todos.query().get())).toEqual(['1']);
    await watched.until((items) => items.length === 1);
    expect(strategy.batches).toEqual([['l1'], ['1', '2', '2']]);
    await client.dispose();
  });

  it('keeps nothing when the function throws, and tells no watch and no strategy', async () => {
    const { client, todos, lists, strategy } = await twoRepositories();
    await todos.upsert(todo('kept'));
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 1);
    const failure = new Error('changed my mind');
    await expect(
      client.transaction(async (tx) => {
        await tx.upsert(lists, { id: 'l1', name: 'groceries' });
        await tx.delete(todos, 'kept');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(ids(await todos.query().get())).toEqual(['kept']);
    expect(await lists.query().get()).toEqual([]);
    await todos.upsert(todo('after'));
    await watched.until((items) => items.length === 2);
    expect(watched.values.map(ids)).toEqual([['kept'], ['after', 'kept']]);
    expect(strategy.batches).toEqual([['kept'], ['after']]);
    await client.dispose();
  });

  it('rejects calls on the handle once the transaction ended, with closed', async () => {
    const { client, todos } = await twoRepositories();
    let handle: Parameters<Parameters<typeof client.transaction>[0]>[0] | undefined;
    await client.transaction(async (tx) => {
      handle = tx;
    });
    const late = await handle!.upsert(todos, todo('late')).catch((error: unknown) => error);
    expect(isLocalFirstError(late, ERROR_CODES.closed)).toBe(true);
    expect(await todos.query().get()).toEqual([]);
    await client.dispose();
  });

  it('refuses a repository of another client with unknown_repository', async () => {
    const { client } = await twoRepositories();
    const { client: other, todos: foreign } = await makeClient();
    await expect(client.transaction((tx) => tx.upsert(foreign, todo('x')))).rejects.toMatchObject({
      code: ERROR_CODES.unknownRepository,
    });
    await Promise.all([client.dispose(), other.dispose()]);
  });
});

describe('live queries', () => {
  it('patch their results from each transaction instead of reading the repository again', async () => {
    const { client, todos } = await makeClient();
    await todos.upsertMany([todo('a', 'a', 3), todo('b', 'b', 1), todo('c', 'c', 2, true)]);
    const reads = vi.spyOn(client.storage, 'queryRecords');
    const watched = collect(todos.query().where('done', '==', false).orderBy('priority').watch());
    await watched.until((items) => items.length === 2);
    expect(reads).toHaveBeenCalledTimes(1);
    await todos.upsert(todo('d', 'd', 0));
    await todos.upsert({ ...todo('c', 'c', 2), done: false });
    await todos.delete('a');
    const batch = Array.from({ length: 1000 }, (_, i) => remoteTodo(`r${i}`, `r${i}`, 'x', i + 1));
    await client.applyRemoteEvents('todos', batch);
    const last = await watched.until((items) => items.length === 1003);
    expect(reads).toHaveBeenCalledTimes(1);
    reads.mockRestore();
    expect(last).toEqual(await todos.query().where('done', '==', false).orderBy('priority').get());
    await client.dispose();
  });

  it('emit once for a remote batch, and once for transactions committed in one task', async () => {
    const { client, todos } = await makeClient();
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 0);
    const batch = Array.from({ length: 1000 }, (_, i) => remoteTodo(`r${i}`, `r${i}`, 'x', i + 1));
    await client.applyRemoteEvents('todos', batch);
    await watched.until((items) => items.length === 1000);
    await Promise.all(Array.from({ length: 10 }, (_, i) => todos.upsert(todo(`local-${i}`))));
    await watched.until((items) => items.length === 1010);
    expect(watched.values.map((items) => items.length)).toEqual([0, 1000, 1010]);
    await client.dispose();
  });

  it('do not emit for a change outside their window', async () => {
    const { client, todos } = await makeClient();
    await todos.upsertMany([todo('a'), todo('b'), todo('c')]);
    const watched = collect(todos.query().orderBy('id').limit(2).watch());
    await watched.until((items) => items.length === 2);
    await todos.upsert(todo('z', 'after the window'));
    await todos.upsert(todo('b', 'inside the window'));
    await watched.until((items) => items[1]?.title === 'inside the window');
    expect(watched.values.map(ids)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    await client.dispose();
  });

  it('refill a limited window from storage only when deletes leave it short', async () => {
    const { client, todos } = await makeClient();
    await todos.upsertMany(Array.from({ length: 100 }, (_, i) => todo(String(i).padStart(3, '0'))));
    const reads = vi.spyOn(client.storage, 'queryRecords');
    const query = () => todos.query().orderBy('id').offset(2).limit(3);
    const watched = collect(query().watch());
    await watched.until((items) => items.length === 3);
    // The window holds rows 0..4 plus slack: these deletes are patched without a read.
    await todos.deleteMany(['000', '003']);
    await watched.until((items) => ids(items).join() === '004,005,006');
    expect(reads).toHaveBeenCalledTimes(1);
    // Deleting all that is held leaves it short: the next rows must come from storage.
    await todos.deleteMany(Array.from({ length: 40 }, (_, i) => String(i).padStart(3, '0')));
    const refilled = await watched.until((items) => items[0]?.id === '042');
    expect(ids(refilled)).toEqual(['042', '043', '044']);
    expect(reads).toHaveBeenCalledTimes(2);
    await client.dispose();
  });

  it('hand out frozen results, and the same objects for records no transaction touched', async () => {
    const { client, todos } = await makeClient();
    await todos.upsertMany([todo('a'), todo('b')]);
    const watched = collect(todos.query().watch());
    const first = await watched.until((items) => items.length === 2);
    expect(() => {
      (first[0] as Todo).title = 'changed in place';
    }).toThrow(TypeError);
    expect(() => (first as Todo[]).push(todo('x'))).toThrow(TypeError);
    await todos.upsert(todo('b', 'renamed'));
    const second = await watched.until((items) => items[1]?.title === 'renamed');
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    // A frozen result is no obstacle to writing a changed copy back.
    await todos.upsert({ ...second[0]!, title: 'copied and changed' });
    expect(await todos.getById('a')).toMatchObject({ title: 'copied and changed' });
    await client.dispose();
  });

  it('keep their own copy: changing an event the client returned or was given changes no watch', async () => {
    const { client, todos } = await makeClient();
    const watched = collect(todos.query().orderBy('priority').watch());
    await watched.until((items) => items.length === 0);
    await todos.upsert(todo('a', 'a', 1));
    const written = await todos.upsert(todo('c', 'c', 3));
    const incoming = remoteTodo('r1', 'b', 'b', 1);
    await client.applyRemoteEvents('todos', [{ ...incoming, data: { ...todo('b', 'b', 2) } }]);
    await watched.until((items) => items.length === 3);
    (written.data as Todo).priority = 0;
    await todos.upsert(todo('d', 'd', 2.5));
    const last = await watched.until((items) => items.length === 4);
    expect(ids(last)).toEqual(['a', 'b', 'd', 'c']);
    await client.dispose();
  });
});

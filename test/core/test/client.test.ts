import { LocalFirstClient, Repository, type SyncEvent, silentLogger } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { describe, expect, it } from 'vitest';
import {
  collect,
  makeClient,
  memoryWithoutBatchMethods,
  RecordingStrategy,
  type Todo,
  todo,
} from './fixtures.js';

const remote = (
  overrides: Partial<SyncEvent> & Pick<SyncEvent, 'eventId' | 'dataId'>,
): SyncEvent => ({
  operation: 0,
  createdAt: '2025-01-23T10:00:00.000Z',
  data: { id: overrides.dataId, title: 'remote', done: false, priority: 1 },
  hlc: formatHlc({ wall: 1_737_626_400_000, counter: 0 }, 'server'),
  ...overrides,
});

describe('Repository writes', () => {
  it('stores the record and an event carrying its snapshot, as pending', async () => {
    const { todos } = await makeClient();
    const inserted = await todos.upsert(todo('1', 'Buy milk'));
    const updated = await todos.upsert(todo('1', 'Buy oat milk'));
    expect(inserted).toMatchObject({
      operation: 0,
      dataId: '1',
      syncStatus: 'pending',
      local: true,
    });
    expect(inserted.data).toEqual(todo('1', 'Buy milk'));
    expect(updated.operation).toBe(1);
    expect(updated.hlc! > inserted.hlc!).toBe(true);
    expect(await todos.getById('1')).toEqual(todo('1', 'Buy oat milk'));
    const pending = await todos.getPendingEvents();
    expect(pending.map((event) => event.eventId)).toEqual([inserted.eventId, updated.eventId]);
    expect(pending[0]!.data).toEqual(todo('1', 'Buy milk'));
  });

  it('deletes leave a tombstone and a pending delete event', async () => {
    const { todos } = await makeClient();
    await todos.upsert(todo('1'));
    const removed = await todos.delete('1');
    expect(removed).toMatchObject({ operation: 2, dataId: '1', data: null, syncStatus: 'pending' });
    expect(await todos.getById('1')).toBeUndefined();
    expect(await todos.getById('1', { includeDeleted: true })).toEqual({ id: '1', _deleted: true });
    expect(await todos.delete('1')).toBeUndefined();
    expect(await todos.delete('never-written')).toBeUndefined();
    expect((await todos.getPendingEvents()).map((event) => event.operation)).toEqual([0, 2]);
  });

  it('needSync: false writes locally without a pending event or a push', async () => {
    const strategy = new RecordingStrategy();
    const { todos } = await makeClient({ syncStrategies: [strategy] });
    const event = await todos.upsert(todo('1'), { needSync: false });
    expect(event.syncStatus).toBe('ok');
    expect(await todos.getPendingEvents()).toEqual([]);
    expect(strategy.pushed).toEqual([]);
  });

  it('hands each synced change to the strategies that handle its repository, after the commit', async () => {
    const all = new RecordingStrategy('all');
    const other = new RecordingStrategy('other', ['notes']);
    const { todos, client } = await makeClient({ syncStrategies: [all, other] });
    const event = await todos.upsert(todo('1'));
    const removed = await todos.delete('1');
    expect(all.pushed.map((pushed) => pushed.eventId)).toEqual([event.eventId, removed!.eventId]);
    expect(other.pushed).toEqual([]);
    expect(await client.storage.hasEvent(all.pushed[0]!.eventId)).toBe(true);
  });

  it('keeps the snapshot of the moment in each event, not the latest row', async () => {
    const { todos } = await makeClient();
    const item = todo('1', 'first');
    await todos.upsert(item);
    item.title = 'mutated after the write';
    expect((await todos.getPendingEvents())[0]!.data).toEqual(todo('1', 'first'));
    expect(await todos.getById('1')).toEqual(todo('1', 'first'));
  });

  it('rejects records without an id and non-objects with coded errors', async () => {
    const { todos } = await makeClient();
    await expect(todos.upsert({ title: 'x' } as unknown as Todo)).rejects.toMatchObject({
      code: 'invalid_record',
    });
    await expect(todos.upsert(null as unknown as Todo)).rejects.toMatchObject({
      code: 'invalid_record',
    });
    expect(() => todos.delete('')).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  it('supports a custom id field', async () => {
    const notes = new Repository<{ key: string; text: string }>({ name: 'notes', idField: 'key' });
    const client = new LocalFirstClient({
      repositories: [notes],
      localStorage: new MemoryStorageAdapter(),
    });
    await client.initialize();
    await notes.upsert({ key: 'n1', text: 'hello' });
    await notes.delete('n1');
    expect(await notes.getById('n1', { includeDeleted: true })).toEqual({
      key: 'n1',
      _deleted: true,
    });
  });
});

describe('queries', () => {
  it('filters, orders and pages through the repository', async () => {
    const { todos } = await makeClient();
    for (const [id, priority, done] of [
      ['a', 3, false],
      ['b', 1, true],
      ['c', 2, false],
      ['d', 5, false],
    ] as const) {
      await todos.upsert(todo(id, id, priority, done));
    }
    await todos.delete('d');
    const open = await todos.query().where('done', '==', false).orderBy('priority', 'desc').get();
    expect(open.map((item) => item.id)).toEqual(['a', 'c']);
    const page = await todos.query().orderBy('priority').offset(1).limit(1).get();
    expect(page.map((item) => item.id)).toEqual(['c']);
    const withDeleted = await todos.query().where('id', 'in', ['a', 'd']).includeDeleted().get();
    expect(withDeleted).toEqual([todo('a', 'a', 3), { id: 'd', _deleted: true }]);
  });

  it('rejects a malformed query before it runs', async () => {
    const { todos } = await makeClient();
    await expect(todos.query().limit(-1).get()).rejects.toMatchObject({ code: 'invalid_query' });
  });
});

describe('watch', () => {
  it('emits the current results, then once per committed change', async () => {
    const { todos, client } = await makeClient();
    const watched = collect(todos.query().where('done', '==', false).watch());
    await watched.until((items) => items.length === 0);
    await todos.upsert(todo('1'));
    await watched.until((items) => items.length === 1);
    const batch = Array.from({ length: 10 }, (_, i) =>
      remote({ eventId: `r${i}`, dataId: `remote-${i}` }),
    );
    await client.applyRemoteEvents('todos', batch);
    const after = await watched.until((items) => items.length === 11);
    expect(after).toHaveLength(11);
    // One emission for the initial read, one for the upsert, one for the whole batch.
    expect(watched.values.map((items) => items.length)).toEqual([0, 1, 11]);
    watched.unsubscribe();
  });

  it('stops emitting after unsubscribe', async () => {
    const { todos } = await makeClient();
    const watched = collect(todos.query().watch());
    await watched.until(() => true);
    watched.unsubscribe();
    await todos.upsert(todo('1'));
    await todos.query().get();
    expect(watched.values).toEqual([[]]);
  });
});

describe.each([
  ['with the batch methods', () => new MemoryStorageAdapter()],
  ['through the single calls', memoryWithoutBatchMethods],
] as const)('applyRemoteEvents, storage %s', (_, makeStorage) => {
  it('applies each eventId once and stores events, records and cursor together', async () => {
    const { todos, client } = await makeClient({ localStorage: makeStorage() });
    const event = remote({ eventId: 'r1', dataId: 'x', serverSequence: 7 });
    const first = await client.applyRemoteEvents('todos', [event, event], {
      key: 'cursor:todos',
      value: '7',
    });
    expect(first).toEqual({ applied: ['r1'], skipped: ['r1'], invalid: [] });
    const again = await client.applyRemoteEvents('todos', [event]);
    expect(again.skipped).toEqual(['r1']);
    expect(await todos.getById('x')).toMatchObject({ id: 'x', title: 'remote' });
    expect(await client.storage.getMeta('cursor:todos')).toBe('7');
    expect(await client.storage.getEvent('r1')).toMatchObject({
      syncStatus: 'ok',
      local: false,
      serverSequence: 7,
    });
    expect(await todos.getPendingEvents()).toEqual([]);
  });

  it('reports and skips malformed events without blocking the rest of the batch', async () => {
    const { todos, client } = await makeClient({ localStorage: makeStorage() });
    const result = await client.applyRemoteEvents('todos', [
      { eventId: 'bad', operation: 9, dataId: 'x' },
      'not an event',
      remote({ eventId: 'good', dataId: 'y' }),
    ]);
    expect(result.applied).toEqual(['good']);
    expect(result.invalid.map((entry) => entry.eventId)).toEqual(['bad', undefined]);
    expect(await todos.getById('y')).toBeDefined();
  });

  it('keeps nothing of a batch when storing it fails, cursor included', async () => {
    const { todos, client } = await makeClient({ localStorage: makeStorage() });
    const storage = client.storage as MemoryStorageAdapter;
    const original = storage.transaction.bind(storage);
    storage.transaction = (work) =>
      original(async (tx) => {
        const result = await work(tx);
        throw new Error(`disk full after ${String(result)}`);
      });
    await expect(
      client.applyRemoteEvents('todos', [remote({ eventId: 'r1', dataId: 'x' })], {
        key: 'cursor',
        value: '1',
      }),
    ).rejects.toThrow('disk full');
    storage.transaction = original;
    expect(await todos.getById('x')).toBeUndefined();
    expect(await client.storage.hasEvent('r1')).toBe(false);
    expect(await client.storage.getMeta('cursor')).toBeUndefined();
  });

  it('marks its own pending event synced when a server sends it back', async () => {
    const { todos, client } = await makeClient({ localStorage: makeStorage() });
    const event = await todos.upsert(todo('1'));
    await client.applyRemoteEvents('todos', [{ ...event, serverSequence: 1 }]);
    expect(await todos.getPendingEvents()).toEqual([]);
  });

  it('does not let an older remote update resurrect a newer local delete', async () => {
    const { todos, client } = await makeClient({
      localStorage: makeStorage(),
      now: () => Date.parse('2025-06-01T00:00:00.000Z'),
    });
    await todos.upsert(todo('1'));
    await todos.delete('1');
    await client.applyRemoteEvents('todos', [
      remote({ eventId: 'old', dataId: '1', operation: 1 }),
    ]);
    expect(await todos.getById('1')).toBeUndefined();
  });

  it('rejects an unknown repository with a coded error', async () => {
    const { client } = await makeClient({ localStorage: makeStorage() });
    await expect(client.applyRemoteEvents('nope', [])).rejects.toMatchObject({
      code: 'unknown_repository',
    });
  });

  it('markSynced and markFailed move events out of the pending list', async () => {
    const { todos, client } = await makeClient({ localStorage: makeStorage() });
    const a = await todos.upsert(todo('a'));
    const b = await todos.upsert(todo('b'));
    await client.markSynced([a.eventId]);
    await client.markFailed([b.eventId]);
    expect(await todos.getPendingEvents()).toEqual([]);
    expect((await client.storage.getEvent(b.eventId))?.syncStatus).toBe('failed');
  });
});

describe('clock', () => {
  it('orders new writes of a device whose clock is an hour behind after what it received', async () => {
    const hourBehind = () => Date.now() - 3_600_000;
    const { todos, client } = await makeClient({ now: hourBehind });
    await client.applyRemoteEvents('todos', [
      remote({
        eventId: 'fresh',
        dataId: '1',
        hlc: formatHlc({ wall: Date.now(), counter: 0 }, 'other'),
      }),
    ]);
    const local = await todos.upsert(todo('1', 'mine'));
    expect(local.hlc! > (await client.storage.getEvent('fresh'))!.hlc!).toBe(true);
    expect(await todos.getById('1')).toMatchObject({ title: 'mine' });
  });

  it('keeps its clock and client id across a restart on the same storage', async () => {
    const storage = new MemoryStorageAdapter();
    const todos = new Repository<Todo>({ name: 'todos' });
    const first = new LocalFirstClient({
      repositories: [todos],
      localStorage: storage,
      now: () => 5_000,
    });
    await first.initialize();
    const written = await todos.upsert(todo('1'));
    const id = first.clientId;
    const again = new Repository<Todo>({ name: 'todos' });
    const second = new LocalFirstClient({
      repositories: [again],
      localStorage: storage,
      now: () => 1_000,
    });
    await second.initialize();
    expect(second.clientId).toBe(id);
    expect((await again.upsert(todo('1'))).hlc! > written.hlc!).toBe(true);
  });
});

describe('client lifecycle', () => {
  it('refuses use before initialize and after dispose', async () => {
    const todos = new Repository<Todo>({ name: 'todos' });
    const client = new LocalFirstClient({
      repositories: [todos],
      localStorage: new MemoryStorageAdapter(),
    });
    await expect(todos.upsert(todo('1'))).rejects.toMatchObject({ code: 'not_initialized' });
    await client.initialize();
    await client.dispose();
    await expect(todos.upsert(todo('1'))).rejects.toMatchObject({ code: 'closed' });
    await expect(client.initialize()).rejects.toMatchObject({ code: 'closed' });
  });

  it('refuses duplicate repository names and a repository shared by two clients', () => {
    const todos = new Repository<Todo>({ name: 'todos' });
    expect(
      () =>
        new LocalFirstClient({
          repositories: [todos, new Repository({ name: 'todos' })],
          localStorage: new MemoryStorageAdapter(),
        }),
    ).toThrowError(expect.objectContaining({ code: 'duplicate_repository' }));
    new LocalFirstClient({ repositories: [todos], localStorage: new MemoryStorageAdapter() });
    expect(
      () =>
        new LocalFirstClient({ repositories: [todos], localStorage: new MemoryStorageAdapter() }),
    ).toThrowError(expect.objectContaining({ code: 'duplicate_repository' }));
  });

  it('starts, stops and disposes strategies and reports connection state per strategy and in aggregate', async () => {
    const a = new RecordingStrategy('a');
    const b = new RecordingStrategy('b', []);
    const { client } = await makeClient({ syncStrategies: [a, b] });
    const states = collect(client.connectionChanges);
    expect(client.connectionState).toEqual({
      aggregate: 'stopped',
      isConnected: false,
      strategies: { a: 'stopped', b: 'stopped' },
    });
    await client.start();
    expect(client.connectionState.isConnected).toBe(true);
    b.setState('reconnecting');
    expect(client.connectionState).toEqual({
      aggregate: 'reconnecting',
      isConnected: false,
      strategies: { a: 'connected', b: 'reconnecting' },
    });
    await client.dispose();
    expect(states.values.at(-1)?.aggregate).toBe('stopped');
    expect(a.host).toBeDefined();
  });

  it('keeps config values per namespace', async () => {
    const { client } = await makeClient();
    await client.setConfigValue('theme', 'dark');
    expect(await client.getConfigValue('theme')).toBe('dark');
    await client.useNamespace('user-2');
    expect(await client.getConfigValue('theme')).toBeUndefined();
    await client.setConfigValue('theme', undefined);
  });

  it('isolates namespaces and re-runs watchers when switching', async () => {
    const strategy = new RecordingStrategy();
    const { todos, client } = await makeClient({
      syncStrategies: [strategy],
      logger: silentLogger,
    });
    await client.start();
    await todos.upsert(todo('alice-1'));
    const firstId = client.clientId;
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 1);
    await client.useNamespace('bob');
    await watched.until((items) => items.length === 0);
    expect(client.namespace).toBe('bob');
    expect(client.clientId).not.toBe(firstId);
    expect(strategy.connectionState).toBe('connected');
    await todos.upsert(todo('bob-1'));
    await client.useNamespace('default');
    expect((await todos.query().get()).map((item) => item.id)).toEqual(['alice-1']);
    watched.unsubscribe();
  });
});

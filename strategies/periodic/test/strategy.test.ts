import { describe, expect, it } from 'vitest';
import { kinds, makeEngine, makeReplica, titles, until } from './fixtures.js';

describe('PeriodicSyncStrategy over the real REST handler', () => {
  it('two clients converge on inserts, updates and deletes, one round at a time', async () => {
    const { engine, rest } = await makeEngine();
    const a = await makeReplica(rest);
    const b = await makeReplica(rest, { authToken: 'token-bob' });
    await a.client.start();
    await b.client.start();
    await a.todos.upsert({ id: '1', title: 'milk' });
    await a.todos.upsert({ id: '2', title: 'eggs' });
    expect(await a.strategy.syncNow()).toBe(true);
    expect(await b.strategy.syncNow()).toBe(true);
    expect(titles(await b.todos.query().get())).toEqual(['1:milk', '2:eggs']);
    await b.todos.upsert({ id: '1', title: 'oat milk' });
    await b.todos.delete('2');
    await b.strategy.syncNow();
    await a.strategy.syncNow();
    expect(titles(await a.todos.query().get())).toEqual(['1:oat milk']);
    expect(await a.todos.getById('2', { includeDeleted: true })).toEqual({
      id: '2',
      _deleted: true,
    });
    expect(a.strategy.connectionState).toBe('connected');
    expect(await a.todos.getPendingEvents()).toEqual([]);
    await a.client.dispose();
    await b.client.dispose();
    await engine.close();
  });

  it('pushes what was written offline in one batch, oldest first, with the bearer token', async () => {
    const { engine, store, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.todos.upsert({ id: '1', title: 'written offline' });
    await replica.todos.upsert({ id: '2', title: 'also offline' });
    await replica.todos.delete('1');
    await replica.client.start();
    expect(await replica.strategy.syncNow()).toBe(true);
    const posts = rest.requests.filter((seen) => seen.method === 'POST');
    expect(posts.map((seen) => [seen.path, seen.result, seen.headers.authorization])).toEqual([
      ['/api/events/todos/batch', 201, 'Bearer token-alice'],
    ]);
    const stored = (await store.readAfter('todos', 0, 10)).events;
    expect(stored.map((event) => [event.dataId, event.operation])).toEqual([
      ['1', 0],
      ['2', 0],
      ['1', 2],
    ]);
    await replica.client.dispose();
    await engine.close();
  });

  it('halves batches the server answers 413, down to one event, and stores every event once', async () => {
    const { engine, store, rest } = await makeEngine({ limits: { maxBatchEvents: 3 } });
    const replica = await makeReplica(rest);
    for (let i = 0; i < 40; i++) await replica.todos.upsert({ id: `t${i}`, title: `n${i}` });
    await replica.client.start();
    expect(await replica.strategy.syncNow()).toBe(true);
    expect(await store.lastSequence('todos')).toBe(40);
    expect(replica.strategy.batchLimits.maxBatchEvents).toBeLessThanOrEqual(3);
    const refused = rest.requests.filter((seen) => seen.result === 413).length;
    // 500 → 250 → … → 2: each halving costs one 413, then every batch fits.
    expect(refused).toBeLessThanOrEqual(9);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('gives a final event_too_large verdict to a change the server refuses alone, and pushes the rest', async () => {
    const { engine, store, rest } = await makeEngine({ limits: { maxFrameBytes: 4 * 1024 } });
    const replica = await makeReplica(rest);
    await replica.todos.upsert({ id: 'small-1', title: 'fits' });
    await replica.todos.upsert({ id: 'big', title: 'x'.repeat(10_000) });
    await replica.todos.upsert({ id: 'small-2', title: 'fits too' });
    await replica.client.start();
    await replica.strategy.syncNow();
    const stored = (await store.readAfter('todos', 0, 10)).events.map((event) => event.dataId);
    expect(stored).toEqual(['small-1', 'small-2']);
    const verdicts = replica.activities.flatMap((activity) =>
      activity.type === 'rejected' ? activity.rejected : [],
    );
    expect(verdicts).toEqual([
      expect.objectContaining({ code: 'event_too_large', source: 'server' }),
    ]);
    expect(await replica.todos.getById('big')).toBeUndefined();
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('refuses at write time a change over its own maxBatchBytes', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest, { maxBatchBytes: 2_000 });
    await expect(
      replica.todos.upsert({ id: 'big', title: 'x'.repeat(5_000) }),
    ).rejects.toMatchObject({
      code: 'event_too_large',
    });
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('takes a batch whose answer was lost after the server stored it as acknowledged by the next pull: stored once', async () => {
    const { engine, store, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.todos.upsert({ id: '1', title: 'once' });
    rest.arm({ kind: 'lose_answer' }, 1, 'POST');
    await replica.client.start();
    const states: string[] = [];
    replica.strategy.stateChanges.subscribe((state) => states.push(state));
    await until(replica.strategy.stateChanges, (state) => state === 'connected');
    expect(states).toEqual(['connecting', 'reconnecting', 'connected']);
    // The next round pulls first: the change comes back from the server, so it is not sent again.
    expect(rest.requests.map((seen) => `${seen.method} ${seen.result}`)).toEqual([
      'GET 200',
      'POST lost',
      'GET 200',
    ]);
    expect(await store.lastSequence('todos')).toBe(1);
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('gives up a request that hangs, or whose body stalls, at requestTimeout, and tries again', async () => {
    const { engine, store, rest } = await makeEngine();
    const replica = await makeReplica(rest, { requestTimeout: 50 });
    await replica.todos.upsert({ id: '1', title: 'through' });
    rest.arm({ kind: 'hang' }, 1, 'POST');
    rest.arm({ kind: 'stall_body' }, 1, 'POST');
    await replica.client.start();
    await until(replica.strategy.stateChanges, (state) => state === 'connected');
    // The hung request never reached the server; the stalled one did, and the next pull
    // brings its change back.
    const results = rest.requests.map((seen) => `${seen.method} ${seen.result}`);
    expect(results).toEqual(['GET 200', 'POST aborted', 'GET 200', 'POST stalled', 'GET 200']);
    expect(await store.lastSequence('todos')).toBe(1);
    await replica.client.dispose();
    await engine.close();
  });

  it('turns a 403 on a push into final forbidden verdicts and rolls the records back', async () => {
    const { engine, store, rest } = await makeEngine({
      authorizer: { canRead: () => true, canWrite: (user) => user.userId !== 'bob' },
    });
    const replica = await makeReplica(rest, { authToken: 'token-bob' });
    await replica.todos.upsert({ id: '1', title: 'not allowed' });
    await replica.client.start();
    await replica.strategy.syncNow();
    expect(await store.lastSequence('todos')).toBe(0);
    expect(await replica.todos.getById('1')).toBeUndefined();
    const rejected = replica.activities.find((activity) => activity.type === 'rejected');
    expect(rejected).toMatchObject({ rejected: [{ code: 'forbidden', source: 'server' }] });
    expect(await replica.todos.getPendingEvents()).toEqual([]);
    await replica.client.dispose();
    await engine.close();
  });

  it('pulls by cursor in pages and keeps the cursor, so the next round asks only for what is new', async () => {
    const { engine, rest } = await makeEngine();
    const writer = await makeReplica(rest, { authToken: 'token-bob' });
    for (let i = 0; i < 25; i++) await writer.todos.upsert({ id: `t${i}`, title: `n${i}` });
    await writer.client.start();
    await writer.strategy.syncNow();
    const reader = await makeReplica(rest, { pageSize: 10 });
    await reader.client.start();
    const before = rest.count('GET');
    expect(await reader.strategy.syncNow()).toBe(true);
    const pages = rest.requests
      .slice(before)
      .filter(
        (seen) => seen.method === 'GET' && seen.headers.authorization === 'Bearer token-alice',
      );
    expect(pages.map((seen) => seen.path)).toEqual([
      '/api/events/todos?afterSequence=0&limit=10',
      '/api/events/todos?afterSequence=10&limit=10',
      '/api/events/todos?afterSequence=20&limit=10',
    ]);
    expect(await reader.todos.query().get()).toHaveLength(25);
    await reader.strategy.syncNow();
    const last = rest.requests.filter(
      (seen) => seen.headers.authorization === 'Bearer token-alice',
    );
    expect(last.at(-1)?.path).toBe('/api/events/todos?afterSequence=25&limit=10');
    await writer.client.dispose();
    await reader.client.dispose();
    await engine.close();
  });

  it('starts a repository over when the server log has another epoch, and pushes its own changes again', async () => {
    const first = await makeEngine();
    first.engine.epochOf = async () => 'epoch-1';
    const replica = await makeReplica(first.rest);
    await replica.todos.upsert({ id: '1', title: 'mine' });
    await replica.client.start();
    expect(await replica.strategy.syncNow()).toBe(true);
    // The server comes back from an old backup: an empty log, and a new epoch.
    const second = await makeEngine();
    second.engine.epochOf = async () => 'epoch-2';
    first.rest.serveFrom(second.engine);
    expect(await replica.strategy.syncNow()).toBe(true);
    expect(replica.activities).toContainEqual({
      type: 'reset',
      repository: 'todos',
      reason: 'epoch',
    });
    expect(
      (await second.store.readAfter('todos', 0, 10)).events.map((event) => event.dataId),
    ).toEqual(['1']);
    await replica.client.dispose();
    await first.engine.close();
    await second.engine.close();
  });

  it('pushes its change again to a server restored before this device ever read its log', async () => {
    const first = await makeEngine();
    first.engine.epochOf = async () => 'epoch-1';
    const replica = await makeReplica(first.rest);
    await replica.todos.upsert({ id: 'mine', title: 'written here' });
    // The first round's read fails: the log's epoch is not known yet.
    first.rest.arm({ kind: 'refuse' }, 1, 'GET');
    await replica.client.start();
    expect(await replica.strategy.syncNow()).toBe(false);
    // Restored from a backup taken before the change, and written to by others since.
    const second = await makeEngine();
    second.engine.epochOf = async () => 'epoch-2';
    const other = await makeReplica(second.rest, { authToken: 'token-bob' });
    for (let i = 0; i < 5; i++) await other.todos.upsert({ id: `theirs-${i}`, title: 'elsewhere' });
    await other.client.start();
    await other.strategy.syncNow();
    first.rest.serveFrom(second.engine);
    expect(await replica.strategy.syncNow()).toBe(true);
    const held = (await second.store.readAfter('todos', 0, 20)).events.map((event) => event.dataId);
    expect(held).toContain('mine');
    expect(await replica.todos.query().get()).toHaveLength(6);
    await replica.client.dispose();
    await other.client.dispose();
    await first.engine.close();
    await second.engine.close();
  });

  it('runs one follow-up round for any number of syncNow calls made during a round', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    await replica.client.start();
    rest.latencyMs = 5;
    const first = replica.strategy.syncNow();
    const followers = [
      replica.strategy.syncNow(),
      replica.strategy.syncNow(),
      replica.strategy.syncNow(),
    ];
    expect(followers[0]).toBe(followers[1]);
    await Promise.all([first, ...followers]);
    expect(kinds(replica.activities).filter((kind) => kind === 'sync_complete')).toHaveLength(2);
    await replica.client.dispose();
    await engine.close();
  });

  it('aborts the request under way when stopped, and sends nothing more', async () => {
    const { engine, rest } = await makeEngine();
    const replica = await makeReplica(rest);
    rest.arm({ kind: 'hang' }, 1);
    await replica.client.start();
    const round = replica.strategy.syncNow();
    await rest.requested(1);
    await replica.client.stop();
    expect(await round).toBe(false);
    expect(rest.requests.map((seen) => seen.result)).toEqual(['aborted']);
    expect(replica.strategy.connectionState).toBe('stopped');
    await replica.client.dispose();
    await engine.close();
  });
});

import { type AccessRevocation, ERROR_CODES, type Rejection, Repository } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { collect, makeClient, RecordingStrategy, remoteTodo, type Todo, todo } from './fixtures.js';

const CURSOR = 'recording:cursor:todos';
const remote = (eventId: string, id: string, sequence: number) =>
  remoteTodo(eventId, id, `remote ${id}`, sequence);

/** A client whose `todos` hold two remote records with their cursor and one pending change. */
async function filled() {
  const strategy = new RecordingStrategy();
  const { client, todos } = await makeClient({ syncStrategies: [strategy] });
  await client.applyRemoteEvents('todos', [remote('r1', 'a', 1), remote('r2', 'b', 2)], {
    key: CURSOR,
    value: '2',
  });
  await todos.upsert(todo('mine', 'not yet on the server'));
  return { client, todos, strategy };
}

describe('access revoked by a remote', () => {
  it('drops the records, events and cursor, reports the pending changes as forbidden, and tells the app', async () => {
    const strategy = new RecordingStrategy();
    const todos = new Repository<Todo>({ name: 'todos' });
    const notes = new Repository<Todo>({ name: 'notes' });
    const { client } = await makeClient({
      repositories: [todos, notes],
      syncStrategies: [strategy],
    });
    const fromServer = [remote('r1', 'a', 1), remote('r2', 'b', 2)];
    await client.applyRemoteEvents('todos', fromServer, { key: CURSOR, value: '2' });
    await client.applyRemoteEvents('notes', [remote('n1', 'n', 1)], {
      key: 'notes-cursor',
      value: '1',
    });
    const pending = await todos.upsert(todo('mine', 'not yet on the server'));
    const note = await notes.upsert(todo('note'));
    const rejections = collect(client.rejections);
    const revocations = collect(client.accessRevocations);
    const pendingChanges = collect(client.pendingChanges);
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 3);

    const revocation = await strategy.host!.revokeRepository('todos', {
      strategy: 'recording',
      metaKeys: [CURSOR],
    });

    const expected: Rejection = {
      eventId: pending!.eventId,
      code: 'forbidden',
      message: expect.stringContaining('revoked') as unknown as string,
      source: 'server',
      repository: 'todos',
      dataId: 'mine',
    };
    expect(rejections.values).toEqual([expected]);
    const told: AccessRevocation = {
      repository: 'todos',
      strategy: 'recording',
      namespace: 'default',
      rejected: [expected],
    };
    expect(revocation).toEqual(told);
    expect(revocations.values).toEqual([told]);
    await watched.until((items) => items.length === 0);
    expect(pendingChanges.values.length).toBeGreaterThan(0);
    expect(await todos.query().includeDeleted().get()).toEqual([]);
    expect(await todos.getById('a')).toBeUndefined();
    expect(await client.storage.getEvents({ repository: 'todos' })).toEqual([]);
    expect(await client.storage.getMeta(CURSOR)).toBeUndefined();
    // The other repository, its cursor and the app's settings are as they were.
    expect((await notes.query().get()).map((item) => item.id)).toEqual(['n', 'note']);
    expect((await client.getPendingEvents()).map((event) => event.eventId)).toEqual([
      note!.eventId,
    ]);
    expect(await client.storage.getMeta('notes-cursor')).toBe('1');

    // Access back: a catch-up from the start stores every event again.
    await client.applyRemoteEvents('todos', fromServer, { key: CURSOR, value: '2' });
    expect((await todos.query().get()).map((item) => item.id)).toEqual(['a', 'b']);
    watched.unsubscribe();
    await client.dispose();
  });

  it('pushes writes made afterwards, and a forbidden verdict rolls them back', async () => {
    const { client, todos, strategy } = await filled();
    await strategy.host!.revokeRepository('todos', { strategy: 'recording' });
    const later = await todos.upsert(todo('later'));
    expect(strategy.pushed.map((event) => event.eventId)).toContain(later!.eventId);
    const rejections = collect(client.rejections);
    await strategy.host!.rejectEvents([
      { eventId: later!.eventId, code: 'forbidden', message: 'no write access', source: 'server' },
    ]);
    expect(await todos.getById('later')).toBeUndefined();
    expect(rejections.values.map((rejection) => rejection.eventId)).toEqual([later!.eventId]);
    await client.dispose();
  });

  it('changes nothing through a host held to a namespace the client has left', async () => {
    const { client, todos, strategy } = await filled();
    const alice = strategy.host!.inNamespace('default');
    expect(alice.namespace).toBe('default');
    await client.useNamespace('bob');
    expect(
      await alice.revokeRepository('todos', { strategy: 'recording', metaKeys: [CURSOR] }),
    ).toBe(undefined);
    await expect(alice.getPendingEvents()).rejects.toMatchObject({
      code: ERROR_CODES.namespaceChanged,
    });
    await expect(alice.getMeta(CURSOR)).rejects.toMatchObject({
      code: ERROR_CODES.namespaceChanged,
    });
    await alice.markSynced([], { key: CURSOR, value: '99' });
    await alice.applyRemoteEvents('todos', [remote('r3', 'c', 3)], { key: CURSOR, value: '3' });
    expect(await client.storage.getMeta(CURSOR)).toBeUndefined();
    expect(await todos.query().get()).toEqual([]);
    await client.useNamespace('default');
    expect(await client.storage.getMeta(CURSOR)).toBe('2');
    expect((await todos.query().get()).map((item) => item.id)).toEqual(['a', 'b', 'mine']);
    expect(await alice.getMeta(CURSOR)).toBe('2');
    await client.dispose();
  });
});

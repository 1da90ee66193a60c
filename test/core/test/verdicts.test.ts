import { ERROR_CODES, type Rejection, Repository } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import {
  collect,
  makeClient,
  RecordingStrategy,
  remoteTodo,
  SERVER_TIME,
  type Todo,
  todo,
} from './fixtures.js';

const wall = Date.parse(SERVER_TIME);
const remote = remoteTodo;

describe('final verdicts on local changes', () => {
  it('rolls a refused update back to the last accepted state, keeps later pending edits, and reports it once', async () => {
    const strategy = new RecordingStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy] });
    const rejections: Rejection[] = [];
    client.rejections.subscribe((rejection) => rejections.push(rejection));
    await client.applyRemoteEvents('todos', [remote('r1', 'a', 'from the server', 1)]);
    const refused = await todos.upsert(todo('a', 'refused'));
    await client.rejectEvents([
      { eventId: refused!.eventId, code: 'forbidden', message: 'read only', source: 'server' },
    ]);
    expect(await todos.getById('a')).toMatchObject({ title: 'from the server' });

    // A later edit still pending is the user's intent: it stays when an older one is refused.
    const first = await todos.upsert(todo('a', 'first edit'));
    await todos.upsert(todo('a', 'second edit'));
    await client.rejectEvents([
      { eventId: first!.eventId, code: 'forbidden', message: 'no', source: 'server' },
      // The same verdict twice, and one for an event that is not this device's: no effect.
      { eventId: first!.eventId, code: 'forbidden', message: 'no', source: 'server' },
      { eventId: 'r1', code: 'forbidden', message: 'not ours', source: 'server' },
    ]);
    expect(await todos.getById('a')).toMatchObject({ title: 'second edit' });
    expect(rejections.map((rejection) => [rejection.dataId, rejection.code])).toEqual([
      ['a', 'forbidden'],
      ['a', 'forbidden'],
    ]);
    const statuses = (await client.storage.getEvents({ repository: 'todos' })).map(
      (event) => event.syncStatus,
    );
    expect(statuses).toEqual(['ok', 'failed', 'failed', 'pending']);
    await client.dispose();
  });

  it('makes a record that only a refused event wrote read as absent, and lets any later event win', async () => {
    const { client, todos } = await makeClient();
    const created = await todos.upsert(todo('new', 'never accepted'));
    const watched = collect(todos.query().watch());
    await watched.until((items) => items.length === 1);
    await client.rejectEvents([
      { eventId: created!.eventId, code: 'invalid_event', message: 'bad', source: 'server' },
    ]);
    expect(await todos.getById('new')).toBeUndefined();
    // The watch emits after the task that committed the rollback.
    await watched.until((items) => items.length === 0);
    expect(watched.values.map((items) => items.length)).toEqual([1, 0]);
    // Even a remote event stamped long ago wins over the rolled-back state.
    await client.applyRemoteEvents('todos', [remote('r-old', 'new', 'old remote', 1)]);
    expect(await todos.getById('new')).toMatchObject({ title: 'old remote' });
    await client.dispose();
  });

  it('folds the remaining events with the repository resolver', async () => {
    const notes = new Repository<Todo>({
      name: 'todos',
      // Keeps the longest title, whatever the order: commutative, as resolvers must be.
      resolveConflict: (local, incoming) =>
        (local.data?.title.length ?? 0) >= (incoming.data?.title.length ?? 0)
          ? local.data
          : incoming.data,
    });
    const { client } = await makeClient({ repositories: [notes] });
    await client.applyRemoteEvents('todos', [remote('r1', 'a', 'a long remote title', 1)]);
    const mine = await notes.upsert(todo('a', 'short'));
    await client.rejectEvents([
      { eventId: mine!.eventId, code: 'forbidden', message: 'no', source: 'server' },
    ]);
    expect(await notes.getById('a')).toMatchObject({ title: 'a long remote title' });
    await client.dispose();
  });

  it('refuses a write before storing it when a strategy could never push it', async () => {
    const strategy = new RecordingStrategy();
    Object.assign(strategy, {
      assertPushable(event: { data: unknown }) {
        if (JSON.stringify(event.data).length > 100)
          throw Object.assign(new Error('too large'), { code: ERROR_CODES.eventTooLarge });
      },
    });
    const { client, todos } = await makeClient({ syncStrategies: [strategy] });
    await expect(todos.upsert(todo('big', 'x'.repeat(200)))).rejects.toMatchObject({
      code: 'event_too_large',
    });
    expect(await todos.getById('big')).toBeUndefined();
    expect(await client.storage.getEvents()).toEqual([]);
    // A write that does not sync is not checked.
    await todos.upsert(todo('big', 'x'.repeat(200)), { needSync: false });
    expect(strategy.pushed).toEqual([]);
    await client.dispose();
  });

  it('marks this device’s acknowledged events pending again for a server that lost them', async () => {
    const { client, todos } = await makeClient();
    const mine = await todos.upsert(todo('a'));
    await client.applyRemoteEvents('todos', [remote('r1', 'b', 'theirs', 1)]);
    await client.markSynced([mine!.eventId]);
    const requeued = await client.requeueLocalEvents('todos');
    expect(requeued.map((event) => [event.eventId, event.syncStatus])).toEqual([
      [mine!.eventId, 'pending'],
    ]);
    expect((await client.getPendingEvents()).map((event) => event.eventId)).toEqual([
      mine!.eventId,
    ]);
    await client.dispose();
  });

  it('applies no remote event whose stamp is malformed or too far ahead of its commit', async () => {
    const { client, todos } = await makeClient();
    const ahead = remote('ahead', 'a', 'from the future', 1);
    ahead.hlc = formatHlc({ wall: wall + 10 * 60_000, counter: 0 }, 'fast');
    const tilde = { ...remote('tilde', 'b', 'tilde', 2), hlc: '~' };
    const fine = remote('fine', 'c', 'within the bound', 3);
    fine.hlc = formatHlc({ wall: wall + 4 * 60_000, counter: 0 }, 'ok');
    const result = await client.applyRemoteEvents('todos', [ahead, tilde, fine]);
    expect(result.applied).toEqual(['fine']);
    expect(result.invalid.map((entry) => entry.eventId)).toEqual(['ahead', 'tilde']);
    expect((await todos.query().get()).map((item) => item.id)).toEqual(['c']);
    const clock = JSON.parse((await client.storage.getMeta('client:hlc')) ?? '{}') as {
      wall: number;
    };
    expect(clock.wall).toBeLessThanOrEqual(wall + 4 * 60_000);
    await client.dispose();
  });

  describe('a verdict on one push and an acknowledgement of a later push of the same event', () => {
    // A push refused (forbidden) is sent again before the verdict is stored, and the server
    // takes it the second time: the server's log holds it, so the record must stay.
    const forbidden = { code: 'forbidden', message: 'not now', source: 'server' } as const;

    it('an acknowledgement stored after the verdict brings the record back', async () => {
      const { client, todos } = await makeClient({ syncStrategies: [new RecordingStrategy()] });
      const write = await todos.upsert(todo('a', 'taken the second time'));
      await client.rejectEvents([{ eventId: write!.eventId, ...forbidden }]);
      expect(await todos.getById('a')).toBeUndefined();
      // A watcher is told: the record it saw vanish is back.
      const seen: string[][] = [];
      const back = new Promise<void>((resolve) => {
        todos
          .query()
          .watch()
          .subscribe((items) => {
            seen.push(items.map((item) => item.title));
            if (items.length === 1) resolve();
          });
      });
      await client.markSynced([write!.eventId]);
      expect(await todos.getById('a')).toMatchObject({ title: 'taken the second time' });
      await back;
      expect(seen.at(-1)).toEqual(['taken the second time']);
      const [event] = await client.storage.getEvents({ repository: 'todos' });
      expect(event?.syncStatus).toBe('ok');
      await client.dispose();
    });

    it('a verdict stored after the acknowledgement is stale and changes nothing', async () => {
      const { client, todos } = await makeClient({ syncStrategies: [new RecordingStrategy()] });
      const rejections: Rejection[] = [];
      client.rejections.subscribe((rejection) => rejections.push(rejection));
      const write = await todos.upsert(todo('a', 'taken'));
      await client.markSynced([write!.eventId]);
      await client.rejectEvents([{ eventId: write!.eventId, ...forbidden }]);
      expect(await todos.getById('a')).toMatchObject({ title: 'taken' });
      expect(rejections).toEqual([]);
      await client.dispose();
    });

    it('the server sending back an event this device saw refused brings the record back', async () => {
      const { client, todos } = await makeClient({ syncStrategies: [new RecordingStrategy()] });
      const write = await todos.upsert(todo('a', 'in the log after all'));
      await client.rejectEvents([{ eventId: write!.eventId, ...forbidden }]);
      const [stored] = await client.storage.getEvents({ repository: 'todos' });
      const result = await client.applyRemoteEvents('todos', [
        { ...stored!, serverSequence: 1, serverCreatedAt: new Date().toISOString() },
      ]);
      expect(result.applied).toEqual([write!.eventId]);
      expect(await todos.getById('a')).toMatchObject({ title: 'in the log after all' });
      await client.dispose();
    });
  });
});

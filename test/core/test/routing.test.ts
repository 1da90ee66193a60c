import { LocalFirstClient, type Logger, Repository, silentLogger } from '@local-first/core';
import { listedRepositories, routeRepositories } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { describe, expect, it } from 'vitest';
import { RecordingStrategy, type Todo, todo } from './fixtures.js';

type Setting = {
  id: string;
  value: string;
};

function twoRepositories() {
  const todos = new Repository<Todo>({ name: 'todos' });
  const settings = new Repository<Setting>({ name: 'settings' });
  return { todos, settings };
}

function warnings(): { logger: Logger; seen: string[] } {
  const seen: string[] = [];
  return { logger: { ...silentLogger, warn: (_fields, message) => seen.push(message) }, seen };
}

describe('several strategies: repositories routed by repositoryNames', () => {
  it('gives listed repositories to their strategy and the rest to the one that lists none', async () => {
    const { todos, settings } = twoRepositories();
    const live = new RecordingStrategy('live');
    const periodic = new RecordingStrategy('periodic', ['settings']);
    const client = new LocalFirstClient({
      repositories: [todos, settings],
      localStorage: new MemoryStorageAdapter(),
      syncStrategies: [live, periodic],
      logger: silentLogger,
    });
    await client.initialize();
    const write = await todos.upsert(todo('1'));
    const setting = await settings.upsert({ id: 'theme', value: 'dark' });
    expect(live.pushed.map((event) => event.eventId)).toEqual([write.eventId]);
    expect(periodic.pushed.map((event) => event.eventId)).toEqual([setting.eventId]);
    // Each host lists what was routed to it, and pending events of those repositories only.
    expect(live.host?.repositoryNames()).toEqual(['todos']);
    expect(periodic.host?.repositoryNames()).toEqual(['settings']);
    const pendingOf = async (strategy: RecordingStrategy) =>
      (await strategy.host!.getPendingEvents()).map((event) => event.repository);
    expect(await pendingOf(live)).toEqual(['todos']);
    expect(await pendingOf(periodic)).toEqual(['settings']);
    // Asked for a named repository, a host answers as before.
    expect(await periodic.host!.getPendingEvents('todos')).toHaveLength(1);
    await client.dispose();
  });

  it('refuses, at initialize(), a repository two strategies list, naming both', async () => {
    const { todos, settings } = twoRepositories();
    const client = new LocalFirstClient({
      repositories: [todos, settings],
      localStorage: new MemoryStorageAdapter(),
      syncStrategies: [
        new RecordingStrategy('live', ['todos', 'settings']),
        new RecordingStrategy('periodic', ['settings']),
      ],
      logger: silentLogger,
    });
    await expect(client.initialize()).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('"live" and "periodic" (both list it)'),
      details: { repository: 'settings', strategies: ['live', 'periodic'] },
    });
  });

  it('refuses two strategies that list nothing, since both would take every repository', async () => {
    const { todos } = twoRepositories();
    const client = new LocalFirstClient({
      repositories: [todos],
      localStorage: new MemoryStorageAdapter(),
      syncStrategies: [new RecordingStrategy('a'), new RecordingStrategy('b')],
      logger: silentLogger,
    });
    await expect(client.initialize()).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('give one of them `repositoryNames`'),
    });
  });

  it('leaves a repository no strategy takes local, and warns about a listed name it lacks', () => {
    const { logger, seen } = warnings();
    const only = new RecordingStrategy('periodic', ['settings', 'setings']);
    const routes = routeRepositories(['todos', 'settings'], [only], logger);
    expect([...routes.keys()]).toEqual(['settings']);
    expect(seen).toEqual([
      'strategy "periodic" names repository "setings", which this client does not have',
    ]);
  });

  it('gives a strategy without a list only the repositories it handles', () => {
    const narrow = new RecordingStrategy('narrow');
    narrow.handlesRepository = (name) => name === 'todos';
    const routes = routeRepositories(['todos', 'notes'], [narrow], silentLogger);
    expect([...routes.entries()].map(([name, to]) => `${name}:${to.name}`)).toEqual([
      'todos:narrow',
    ]);
  });
});

describe('listedRepositories', () => {
  it('takes repositoryNames or its other name repositories, one of them, as a list of names', () => {
    expect(listedRepositories({})).toBeUndefined();
    expect(listedRepositories({ repositoryNames: ['settings'] })).toEqual(['settings']);
    expect(listedRepositories({ repositories: ['settings'] })).toEqual(['settings']);
    expect(() => listedRepositories({ repositoryNames: ['a'], repositories: ['a'] })).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => listedRepositories({ repositoryNames: 'settings' as never })).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});

import {
  ContainerModule,
  createLocalFirstContainer,
  type LocalFirstClient,
  type Logger,
  localFirstClientModule,
  Repository,
  repositoriesModule,
  resolveClient,
  type SyncStrategy,
  silentLogger,
  TOKENS,
} from '@local-first/core';
import { MemoryStorageAdapter, memoryStorageModule } from '@local-first/storage-memory';
import { describe, expect, it } from 'vitest';
import { RecordingStrategy, type Todo, todo } from './fixtures.js';

describe('dependency injection', () => {
  it('resolves one client wired from the modules a user picks', async () => {
    const todos = new Repository<Todo>({ name: 'todos' });
    const strategies = [new RecordingStrategy('a'), new RecordingStrategy('b', [])];
    const container = createLocalFirstContainer(
      memoryStorageModule(),
      repositoriesModule(todos),
      new ContainerModule(({ bind }) => {
        for (const strategy of strategies)
          bind<SyncStrategy>(TOKENS.SyncStrategy).toConstantValue(strategy);
        bind<Logger>(TOKENS.Logger).toConstantValue(silentLogger);
      }),
      localFirstClientModule(),
    );
    const client = resolveClient(container);
    expect(resolveClient(container)).toBe(client);
    expect(client.storage).toBeInstanceOf(MemoryStorageAdapter);
    expect(client.strategies).toEqual(strategies);
    await client.initialize();
    await todos.upsert(todo('1'));
    expect(strategies[0]!.pushed).toHaveLength(1);
    expect(container.get<LocalFirstClient>(TOKENS.LocalFirstClient)).toBe(client);
    await client.dispose();
  });

  it('reads TOKENS.ClientOptions, and what the module is given wins over what is bound', async () => {
    const boundWarnings: string[] = [];
    const givenWarnings: string[] = [];
    const logger = (into: string[]): Logger => ({
      ...silentLogger,
      warn: (_fields, message) => into.push(message),
    });
    const todos = new Repository<Todo>({ name: 'todos' });
    const container = createLocalFirstContainer(
      memoryStorageModule(),
      repositoriesModule(todos),
      new ContainerModule(({ bind }) => {
        bind(TOKENS.ClientOptions).toConstantValue({
          now: () => Date.parse('2026-01-01T00:00:00.000Z'),
          logger: logger(boundWarnings),
        });
        bind<Logger>(TOKENS.Logger).toConstantValue(logger(boundWarnings));
        // Names a repository the client lacks: the client warns about it at initialize().
        bind<SyncStrategy>(TOKENS.SyncStrategy).toConstantValue(
          new RecordingStrategy('a', ['missing']),
        );
      }),
      localFirstClientModule({ logger: logger(givenWarnings) }),
    );
    const client = resolveClient(container);
    await client.initialize();
    const event = await todos.upsert(todo('1'));
    expect(event.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(givenWarnings).toEqual([
      'strategy "a" names repository "missing", which this client does not have',
    ]);
    expect(boundWarnings).toEqual([]);
    await client.dispose();
  });

  it('works without any strategy or repository bound', async () => {
    const container = createLocalFirstContainer(memoryStorageModule(), localFirstClientModule());
    const client = resolveClient(container);
    await client.initialize();
    expect(client.connectionState.aggregate).toBe('stopped');
    await client.dispose();
  });

  it('fails clearly when no storage adapter is bound', () => {
    const container = createLocalFirstContainer(localFirstClientModule());
    expect(() => resolveClient(container)).toThrow(/StorageAdapter/);
  });
});

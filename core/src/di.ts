import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import { LocalFirstClient, type LocalFirstClientOptions } from './client.js';
import type { Logger } from './logger.js';
import type { Repository } from './repository.js';
import type { StorageAdapter } from './storage.js';
import type { SyncStrategy } from './sync-strategy.js';
import { TOKENS } from './tokens.js';

export { Container, ContainerModule };

/** Binds the app's repositories; load it once with all of them. */
// biome-ignore lint/suspicious/noExplicitAny: repositories of any record type share one token.
export function repositoriesModule(...repositories: Repository<any>[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const repository of repositories) bind(TOKENS.Repository).toConstantValue(repository);
  });
}

/**
 * Binds the client as a singleton built from what the container holds: every repository, the
 * storage adapter, every sync strategy, and the optional `TOKENS.ClientOptions` and
 * `TOKENS.Logger`. What is given here wins over what the container holds (the rule of every
 * module factory of the project): `options` over `TOKENS.ClientOptions`, `options.logger`
 * over both the bound options' logger and `TOKENS.Logger`.
 */
export function localFirstClientModule(
  options: Omit<
    Partial<LocalFirstClientOptions>,
    'repositories' | 'localStorage' | 'syncStrategies'
  > = {},
): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.LocalFirstClient)
      .toDynamicValue((context) => {
        const bound: Partial<LocalFirstClientOptions> =
          context.get(TOKENS.ClientOptions, { optional: true }) ?? {};
        const logger =
          options.logger ?? bound.logger ?? context.get<Logger>(TOKENS.Logger, { optional: true });
        return new LocalFirstClient({
          ...bound,
          ...options,
          ...(logger ? { logger } : {}),
          repositories: context.getAll<Repository>(TOKENS.Repository, { optional: true }),
          localStorage: context.get<StorageAdapter>(TOKENS.StorageAdapter),
          syncStrategies: context.getAll<SyncStrategy>(TOKENS.SyncStrategy, { optional: true }),
        });
      })
      .inSingletonScope();
  });
}

/** The composition root: a container with the given modules loaded. */
export function createLocalFirstContainer(...modules: ContainerModule[]): Container {
  const container = new Container();
  container.load(...modules);
  return container;
}

/** Resolves the client of a container that loaded `localFirstClientModule`. */
export function resolveClient(container: Container): LocalFirstClient {
  return container.get<LocalFirstClient>(TOKENS.LocalFirstClient);
}

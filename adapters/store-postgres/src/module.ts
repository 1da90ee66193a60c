import { ContainerModule, type EventStore, type Logger, TOKENS } from '@local-first/core';
import type { Fanout } from '@local-first/core/adapter';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';
import { PostgresFanout, type PostgresFanoutOptions } from './postgres-fanout.js';

/**
 * Binds a `PostgresEventStore` as the container's event store: a singleton, not yet opened (the
 * server calls `open()` before it serves). It logs to the container's `TOKENS.Logger` when
 * `options.logger` is not given and one is bound.
 */
export function postgresEventStoreModule(options: PostgresEventStoreOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<EventStore>(TOKENS.EventStore)
      .toDynamicValue((context) => {
        const logger = options.logger ?? context.get<Logger>(TOKENS.Logger, { optional: true });
        return new PostgresEventStore(logger ? { ...options, logger } : options);
      })
      .inSingletonScope();
  });
}

/**
 * Binds a `PostgresFanout` as the container's `TOKENS.Fanout`: a singleton, not yet opened (open
 * it before the engine serves, close it after). It logs to the container's `TOKENS.Logger` when
 * `options.logger` is not given and one is bound.
 */
export function postgresFanoutModule(options: PostgresFanoutOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Fanout>(TOKENS.Fanout)
      .toDynamicValue((context) => {
        const logger = options.logger ?? context.get<Logger>(TOKENS.Logger, { optional: true });
        return new PostgresFanout(logger ? { ...options, logger } : options);
      })
      .inSingletonScope();
  });
}

import { ContainerModule, type EventStore, TOKENS } from '@local-first/core';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store.js';

/**
 * Binds a `SqliteEventStore` as the container's event store: a singleton, not yet opened (the
 * server calls `open()` before it serves).
 */
export function sqliteEventStoreModule(options: SqliteEventStoreOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<EventStore>(TOKENS.EventStore)
      .toDynamicValue(() => new SqliteEventStore(options))
      .inSingletonScope();
  });
}

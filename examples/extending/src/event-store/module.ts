import { ContainerModule, type EventStore, TOKENS } from '@local-first/core';
import { JsonLinesEventStore, type JsonLinesEventStoreOptions } from './json-lines-event-store.js';

/** Binds a `JsonLinesEventStore` as the container's event store (a singleton, not yet opened). */
export function jsonLinesEventStoreModule(options: JsonLinesEventStoreOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<EventStore>(TOKENS.EventStore)
      .toDynamicValue(() => new JsonLinesEventStore(options))
      .inSingletonScope();
  });
}

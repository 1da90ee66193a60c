import { ContainerModule, type EventStore, TOKENS } from '@local-first/core';
import { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';

/** Binds a `MemoryEventStore` as the container's event store (a singleton, not yet opened). */
export function memoryEventStoreModule(options: MemoryEventStoreOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<EventStore>(TOKENS.EventStore)
      .toDynamicValue(() => new MemoryEventStore(options))
      .inSingletonScope();
  });
}

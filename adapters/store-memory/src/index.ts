export { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';
export { memoryEventStoreModule } from './module.js';

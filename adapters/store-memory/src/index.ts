export { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';
export { MemoryFanout, MemoryFanoutHub } from './memory-fanout.js';
export { memoryEventStoreModule } from './module.js';

export { MemoryStorageAdapter, type MemoryStorageOptions } from './memory-storage-adapter.js';
export { memoryStorageModule } from './module.js';

import { ContainerModule, type StorageAdapter, TOKENS } from '@local-first/core';
import { MemoryStorageAdapter, type MemoryStorageOptions } from './memory-storage-adapter.js';

/** Binds a `MemoryStorageAdapter` as the container's storage (a singleton). */
export function memoryStorageModule(options: MemoryStorageOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<StorageAdapter>(TOKENS.StorageAdapter)
      .toDynamicValue(() => new MemoryStorageAdapter(options))
      .inSingletonScope();
  });
}

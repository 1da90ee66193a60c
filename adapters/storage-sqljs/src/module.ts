import { ContainerModule, type StorageAdapter, TOKENS } from '@local-first/core';
import { SqlJsStorageAdapter, type SqlJsStorageOptions } from './sqljs-storage-adapter.js';

/** Binds a `SqlJsStorageAdapter` as the container's storage (a singleton). */
export function sqlJsStorageModule(options: SqlJsStorageOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<StorageAdapter>(TOKENS.StorageAdapter)
      .toDynamicValue(() => new SqlJsStorageAdapter(options))
      .inSingletonScope();
  });
}

import { ContainerModule, type StorageAdapter, TOKENS } from '@local-first/core';
import {
  JsonFileStorageAdapter,
  type JsonFileStorageOptions,
} from './json-file-storage-adapter.js';

/** Binds a `JsonFileStorageAdapter` as the container's storage (a singleton, not yet opened). */
export function jsonFileStorageModule(options: JsonFileStorageOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<StorageAdapter>(TOKENS.StorageAdapter)
      .toDynamicValue(() => new JsonFileStorageAdapter(options))
      .inSingletonScope();
  });
}

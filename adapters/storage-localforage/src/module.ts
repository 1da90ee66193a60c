import { ContainerModule, type StorageAdapter, TOKENS } from '@local-first/core';
import {
  LocalForageStorageAdapter,
  type LocalForageStorageOptions,
} from './localforage-storage-adapter.js';

/** Binds a `LocalForageStorageAdapter` as the container's storage (a singleton). */
export function localForageStorageModule(options: LocalForageStorageOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<StorageAdapter>(TOKENS.StorageAdapter)
      .toDynamicValue(() => new LocalForageStorageAdapter(options))
      .inSingletonScope();
  });
}

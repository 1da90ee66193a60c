import { ContainerModule, type SyncStrategy, TOKENS } from '@local-first/core';
import type { PeriodicSyncStrategyOptions } from './options.js';
import { PeriodicSyncStrategy } from './strategy.js';

/** Binds a `PeriodicSyncStrategy` among the container's strategies (a singleton). */
export function periodicSyncModule(options: PeriodicSyncStrategyOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<SyncStrategy>(TOKENS.SyncStrategy)
      .toDynamicValue(() => new PeriodicSyncStrategy(options))
      .inSingletonScope();
  });
}

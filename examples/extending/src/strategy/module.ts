import { ContainerModule, type SyncStrategy, TOKENS } from '@local-first/core';
import { PollingStrategy, type PollingStrategyOptions } from './polling-strategy.js';

/** Binds a `PollingStrategy` among the container's strategies (a singleton). */
export function pollingStrategyModule(options: PollingStrategyOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<SyncStrategy>(TOKENS.SyncStrategy)
      .toDynamicValue(() => new PollingStrategy(options))
      .inSingletonScope();
  });
}

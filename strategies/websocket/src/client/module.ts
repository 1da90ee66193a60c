import { ContainerModule, type SyncStrategy, TOKENS, type Transport } from '@local-first/core';
import type { WebSocketSyncStrategyOptions } from './options.js';
import { WebSocketSyncStrategy } from './strategy.js';

/**
 * Binds a `WebSocketSyncStrategy` among the container's strategies (a singleton). Without a
 * `transport` in the options, it uses the container's `TOKENS.Transport`.
 */
export function webSocketSyncModule(
  options: Omit<WebSocketSyncStrategyOptions, 'transport'> & { transport?: Transport },
): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<SyncStrategy>(TOKENS.SyncStrategy)
      .toDynamicValue(
        (context) =>
          new WebSocketSyncStrategy({
            ...options,
            transport: options.transport ?? context.get<Transport>(TOKENS.Transport),
          }),
      )
      .inSingletonScope();
  });
}

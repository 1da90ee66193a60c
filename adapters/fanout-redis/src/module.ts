import { ContainerModule, type Logger, TOKENS } from '@local-first/core';
import type { Fanout } from '@local-first/core/adapter';
import { RedisFanout, type RedisFanoutOptions } from './redis-fanout.js';

/**
 * Binds a `RedisFanout` as the container's `TOKENS.Fanout`: a singleton, not yet opened (open
 * it before the engine serves, close it after). It logs to the container's `TOKENS.Logger` when
 * `options.logger` is not given and one is bound.
 */
export function redisFanoutModule(options: RedisFanoutOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Fanout>(TOKENS.Fanout)
      .toDynamicValue((context) => {
        const logger = options.logger ?? context.get<Logger>(TOKENS.Logger, { optional: true });
        return new RedisFanout(logger ? { ...options, logger } : options);
      })
      .inSingletonScope();
  });
}

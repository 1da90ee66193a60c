import {
  ContainerModule,
  type EventStore,
  type Logger,
  TOKENS,
  type Token,
} from '@local-first/core';
import type { Fanout, TransportServer } from '@local-first/core/adapter';
import type { Rules } from '../rules/rules.js';
import type { Authenticator, Authorizer } from './auth.js';
import { SyncEngine, type SyncEngineOptions } from './engine.js';
import type { EngineObserver } from './observer.js';

function token<T>(name: string): Token<T> {
  return Symbol.for(`@local-first/server/${name}`) as Token<T>;
}

/** The server's own DI tokens, beside core's `TOKENS` (`EventStore`, `TransportServer`, `Fanout`, `Logger`). */
export const SERVER_TOKENS = {
  /** Who may connect (required by `syncEngineModule`). */
  Authenticator: token<Authenticator>('Authenticator'),
  /** What each user may read and write (optional: everything). */
  Authorizer: token<Authorizer>('Authorizer'),
  /** Rules instead of an authorizer (optional; deny by default once bound). */
  Rules: token<Rules>('Rules'),
  /** Told of what the engine does, for metrics (optional). */
  EngineObserver: token<EngineObserver>('EngineObserver'),
  /** The engine itself. */
  SyncEngine: token<SyncEngine>('SyncEngine'),
} as const;

/** What `syncEngineModule` takes directly; the parts come from the container. */
export type SyncEngineModuleOptions = Omit<
  SyncEngineOptions,
  'store' | 'authenticator' | 'authorizer' | 'rules' | 'fanout' | 'logger' | 'observer'
>;

/**
 * Binds `SERVER_TOKENS.SyncEngine`: a singleton built from the container's `TOKENS.EventStore`
 * and `SERVER_TOKENS.Authenticator`, and when bound `SERVER_TOKENS.Authorizer` (or
 * `SERVER_TOKENS.Rules`),
 * `TOKENS.Fanout`, `TOKENS.Logger` and `SERVER_TOKENS.EngineObserver`. It attaches every
 * `TOKENS.TransportServer` bound. Opening the store (and the fan-out) before it serves and
 * closing them after `engine.close()` stay the caller's, as without a container.
 */
export function syncEngineModule(options: SyncEngineModuleOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<SyncEngine>(SERVER_TOKENS.SyncEngine)
      .toDynamicValue((context) => {
        const optional = <T>(key: Token<T>) => context.get<T>(key, { optional: true });
        const authorizer = optional(SERVER_TOKENS.Authorizer);
        const rules = optional(SERVER_TOKENS.Rules);
        const fanout = optional<Fanout>(TOKENS.Fanout);
        const logger = optional<Logger>(TOKENS.Logger);
        const observer = optional(SERVER_TOKENS.EngineObserver);
        const engine = new SyncEngine({
          ...options,
          store: context.get<EventStore>(TOKENS.EventStore),
          authenticator: context.get(SERVER_TOKENS.Authenticator),
          ...(authorizer ? { authorizer } : {}),
          ...(rules ? { rules } : {}),
          ...(fanout ? { fanout } : {}),
          ...(logger ? { logger } : {}),
          ...(observer ? { observer } : {}),
        });
        const transports = context.getAll<TransportServer>(TOKENS.TransportServer, {
          optional: true,
        });
        for (const transport of transports) engine.attach(transport);
        return engine;
      })
      .inSingletonScope();
  });
}

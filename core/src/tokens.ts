import type { LocalFirstClient, LocalFirstClientOptions } from './client.js';
import type { EventStore } from './event-store.js';
import type { Fanout } from './fanout.js';
import type { Logger } from './logger.js';
import type { Repository } from './repository.js';
import type { StorageAdapter } from './storage.js';
import type { SyncStrategy } from './sync-strategy.js';
import type { Transport, TransportServer } from './transport.js';

/** A DI token that remembers the type bound to it. */
export type Token<T> = symbol & {
  /** Never set: it only carries `T` for the type checker. */
  readonly __type?: T;
};

function token<T>(name: string): Token<T> {
  return Symbol.for(`@local-first/core/${name}`) as Token<T>;
}

/**
 * Every DI token of the framework, in one place. They are `Symbol.for` keys, so two copies of
 * core in one bundle still agree on them.
 */
export const TOKENS = {
  /** The client's local storage (one per container). */
  StorageAdapter: token<StorageAdapter>('StorageAdapter'),
  /** The client half of a transport. */
  Transport: token<Transport>('Transport'),
  /** Sync strategies; bind several, the client gets all of them. */
  SyncStrategy: token<SyncStrategy>('SyncStrategy'),
  /** Repositories; bind several, the client gets all of them. */
  Repository: token<Repository>('Repository'),
  /**
   * Options of the client besides its parts (`now`, `logger`, `maxClockDriftMs`), for an app
   * that configures it in a module of its own; `localFirstClientModule(options)` wins over them.
   */
  ClientOptions: token<Partial<LocalFirstClientOptions>>('ClientOptions'),
  /** The client itself. */
  LocalFirstClient: token<LocalFirstClient>('LocalFirstClient'),
  /** A logger shared by the parts that log. */
  Logger: token<Logger>('Logger'),
  /** The server's event store. */
  EventStore: token<EventStore>('EventStore'),
  /** Server halves of transports; bind several, the server attaches all of them. */
  TransportServer: token<TransportServer>('TransportServer'),
  /** How a server node hears of the other nodes' commits (optional: one node needs none). */
  Fanout: token<Fanout>('Fanout'),
} as const;

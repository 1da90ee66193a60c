import { ContainerModule, TOKENS, type Transport } from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import { NdjsonTransport, type NdjsonTransportOptions } from './client.js';
import { NdjsonTransportServer, type NdjsonTransportServerOptions } from './server.js';

/** Binds an `NdjsonTransport` as the container's transport (a singleton). */
export function ndjsonTransportModule(options: NdjsonTransportOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Transport>(TOKENS.Transport)
      .toDynamicValue(() => new NdjsonTransport(options))
      .inSingletonScope();
  });
}

/**
 * Binds an `NdjsonTransportServer` as one of the container's transport servers (a singleton).
 * It is not listening yet: resolve it, attach the engine, then call `listen()`.
 */
export function ndjsonTransportServerModule(
  options: NdjsonTransportServerOptions = {},
): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<TransportServer>(TOKENS.TransportServer)
      .toDynamicValue(() => new NdjsonTransportServer(options))
      .inSingletonScope();
  });
}

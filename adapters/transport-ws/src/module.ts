import { ContainerModule, TOKENS, type Transport } from '@local-first/core';
import { WsTransport, type WsTransportOptions } from './ws-transport.js';

/** Binds a `WsTransport` as the container's transport (a singleton). */
export function wsTransportModule(options: WsTransportOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Transport>(TOKENS.Transport)
      .toDynamicValue(() => new WsTransport(options))
      .inSingletonScope();
  });
}

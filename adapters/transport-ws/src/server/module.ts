import { ContainerModule, TOKENS, type TransportServer } from '@local-first/core';
import { WsTransportServer, type WsTransportServerOptions } from './ws-transport-server.js';

/** Binds a `WsTransportServer` as one of the container's transport servers (a singleton). */
export function wsTransportServerModule(options: WsTransportServerOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<TransportServer>(TOKENS.TransportServer)
      .toDynamicValue(() => new WsTransportServer(options))
      .inSingletonScope();
  });
}

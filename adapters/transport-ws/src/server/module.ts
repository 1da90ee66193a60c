import { ContainerModule, TOKENS } from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import { WsTransportServer, type WsTransportServerOptions } from './ws-transport-server.js';

/** Binds a `WsTransportServer` as one of the container's transport servers (a singleton). */
export function wsTransportServerModule(options: WsTransportServerOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<TransportServer>(TOKENS.TransportServer)
      .toDynamicValue(() => new WsTransportServer(options))
      .inSingletonScope();
  });
}

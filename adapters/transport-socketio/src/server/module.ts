import { ContainerModule, TOKENS } from '@local-first/core';
import type { TransportServer } from '@local-first/core/adapter';
import {
  SocketIoTransportServer,
  type SocketIoTransportServerOptions,
} from './socketio-transport-server.js';

/** Binds a `SocketIoTransportServer` as one of the container's transport servers (a singleton). */
export function socketIoTransportServerModule(
  options: SocketIoTransportServerOptions,
): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<TransportServer>(TOKENS.TransportServer)
      .toDynamicValue(() => new SocketIoTransportServer(options))
      .inSingletonScope();
  });
}

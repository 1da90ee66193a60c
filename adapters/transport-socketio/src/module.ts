import { ContainerModule, TOKENS, type Transport } from '@local-first/core';
import { SocketIoTransport, type SocketIoTransportOptions } from './socketio-transport.js';

/** Binds a `SocketIoTransport` as the container's transport (a singleton). */
export function socketIoTransportModule(options: SocketIoTransportOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Transport>(TOKENS.Transport)
      .toDynamicValue(() => new SocketIoTransport(options))
      .inSingletonScope();
  });
}

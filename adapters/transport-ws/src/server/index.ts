/**
 * The server half: a TransportServer on a ws server.
 *
 * @module @local-first/transport-ws/server
 */
export { wsTransportServerModule } from './module.js';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  WsTransportServer,
  type WsTransportServerOptions,
} from './ws-transport-server.js';

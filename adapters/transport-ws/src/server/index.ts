export { wsTransportServerModule } from './module.js';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  WsTransportServer,
  type WsTransportServerOptions,
} from './ws-transport-server.js';

/**
 * The server half: a TransportServer on socket.io.
 *
 * @module @local-first/transport-socketio/server
 */
export { CLOSE_REASON_EVENT, MESSAGE_EVENT } from '../connection.js';
export { socketIoTransportServerModule } from './module.js';
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  type SocketIoServerClass,
  SocketIoTransportServer,
  type SocketIoTransportServerOptions,
} from './socketio-transport-server.js';

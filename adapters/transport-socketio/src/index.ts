/**
 * The client half: a Transport over an injected socket.io-client `io()`.
 *
 * @module @local-first/transport-socketio
 */
export { ABNORMAL_CLOSE_CODE, CLOSE_REASON_EVENT, MESSAGE_EVENT } from './connection.js';
export { socketIoTransportModule } from './module.js';
export {
  DEFAULT_OPEN_TIMEOUT_MS,
  type IoFunction,
  SocketIoTransport,
  type SocketIoTransportOptions,
} from './socketio-transport.js';

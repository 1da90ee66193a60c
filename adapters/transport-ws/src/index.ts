/**
 * The client half: a Transport over an injected WebSocket class (the browser's or ws).
 *
 * @module @local-first/transport-ws
 */
export type { WebSocketLike } from './connection.js';
export { wsTransportModule } from './module.js';
export {
  DEFAULT_OPEN_TIMEOUT_MS,
  type WebSocketClientOptions,
  type WebSocketConstructor,
  WsTransport,
  type WsTransportOptions,
} from './ws-transport.js';

export {
  DEFAULT_CLIENT_MAX_FRAME_BYTES,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_OPEN_TIMEOUT_MS,
  NdjsonTransport,
  type NdjsonTransportOptions,
  parseTcpUrl,
} from './client.js';
export { ndjsonTransportModule, ndjsonTransportServerModule } from './module.js';
export {
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_HOST,
  NdjsonTransportServer,
  type NdjsonTransportServerOptions,
} from './server.js';

export type { BatchLimits } from './client/frame-size.js';
export { webSocketSyncModule } from './client/module.js';
export {
  type AuthFailure,
  backoffDelay,
  type Credentials,
  type CredentialsTarget,
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_PONG_TIMEOUT_MS,
  DEFAULT_RECONNECT_DELAY_MS,
  DEFAULT_STABLE_CONNECTION_MS,
  DEFAULT_STRATEGY_NAME,
  DEFAULT_WHEN_SYNCED_TIMEOUT_MS,
  type SyncActivity,
  type WebSocketSyncStrategyOptions,
} from './client/options.js';
export {
  type Batch,
  type PushErrorAction,
  PushQueue,
  type PushQueueOptions,
} from './client/push-queue.js';
export { WebSocketSyncStrategy } from './client/strategy.js';

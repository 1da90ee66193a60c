export { periodicSyncModule } from './module.js';
export {
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_PERIODIC_STRATEGY_NAME,
  DEFAULT_PERIODIC_WHEN_SYNCED_TIMEOUT_MS,
  DEFAULT_PUSH_DELAY_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  type FetchFunction,
  type PeriodicSyncStrategyOptions,
} from './options.js';
export { PeriodicSyncStrategy } from './strategy.js';

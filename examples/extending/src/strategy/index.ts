export { pollingStrategyModule } from './module.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_PAGE_SIZE,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_POLLING_STRATEGY_NAME,
  DEFAULT_POLLING_WHEN_SYNCED_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  PollingStrategy,
  type PollingStrategyOptions,
} from './polling-strategy.js';
export type { FetchFunction } from './rest.js';

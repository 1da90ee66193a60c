export { postgresEventStoreModule, postgresFanoutModule } from './module.js';
export { MAX_NOTICE_BYTES } from './notice.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';
export {
  DEFAULT_FANOUT_APPLICATION_NAME,
  DEFAULT_FANOUT_CHANNEL,
  DEFAULT_FANOUT_HEALTH_CHECK_MS,
  DEFAULT_FANOUT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_FANOUT_POOL_SIZE,
  DEFAULT_FANOUT_RECONNECT_DELAY_MS,
  PostgresFanout,
  type PostgresFanoutOptions,
} from './postgres-fanout.js';

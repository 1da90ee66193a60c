export { sqliteEventStoreModule } from './module.js';
export {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_SQLITE_PATH,
  SqliteEventStore,
  type SqliteEventStoreOptions,
} from './sqlite-event-store.js';

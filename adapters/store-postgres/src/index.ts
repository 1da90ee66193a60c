export { postgresEventStoreModule } from './module.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';

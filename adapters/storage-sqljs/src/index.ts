/**
 * The adapter on an injected sql.js module, and the IndexedDB persister for browsers.
 *
 * @module @local-first/storage-sqljs
 */
export {
  DEFAULT_KEY,
  DEFAULT_STORE_NAME,
  IndexedDbPersister,
  type IndexedDbPersisterOptions,
} from './indexeddb-persister.js';
export { sqlJsStorageModule } from './module.js';
export {
  DEFAULT_SAVE_INTERVAL_MS,
  SqlJsStorageAdapter,
  type SqlJsStorageOptions,
} from './sqljs-storage-adapter.js';
export type {
  Persister,
  SqlJsDatabase,
  SqlJsModule,
  SqlJsStatement,
  SqlValue,
} from './types.js';

export type { LocalForageLike } from './journaled-store.js';
export { JOURNAL_KEY } from './keys.js';
export {
  DEFAULT_INDEX_PAGE_SIZE,
  LocalForageStorageAdapter,
  type LocalForageStorageOptions,
  type WriterOptions,
} from './localforage-storage-adapter.js';
export { localForageStorageModule } from './module.js';

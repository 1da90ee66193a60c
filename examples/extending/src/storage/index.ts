export {
  DEFAULT_SYNC_WRITES,
  JsonFileStorageAdapter,
  type JsonFileStorageOptions,
  TEMP_FILE_SUFFIX,
} from './json-file-storage-adapter.js';
export { jsonFileStorageModule } from './module.js';

export { describeStorageAdapter, type StorageSetup } from './storage/index.js';

export {
  NodeFilePersister,
  type NodeFilePersisterOptions,
  TEMP_FILE_SUFFIX,
} from './node-file-persister.js';

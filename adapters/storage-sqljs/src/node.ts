/**
 * The file persister for Node, apart so that browser bundles never import `node:fs`.
 *
 * @module @local-first/storage-sqljs/node
 */
export {
  NodeFilePersister,
  type NodeFilePersisterOptions,
  TEMP_FILE_SUFFIX,
} from './node-file-persister.js';

import type { StorageSetup } from '@local-first/contract';
import { LocalForageStorageAdapter } from '../src/index.js';

let created = 0;

/**
 * A setup for the storage suite: every test gets a localforage instance of its own name on
 * `driver`, dropped afterwards. `reopen` makes a new instance over the same data, as a
 * restarted app would.
 */
export function localForageSetup(
  localforage: LocalForage,
  driver: string,
): () => Promise<StorageSetup> {
  return async () => {
    const name = `lf-contract-${++created}`;
    const instance = () => localforage.createInstance({ name, storeName: 'kv', driver });
    const create = () => new LocalForageStorageAdapter({ localforage: instance() });
    return {
      adapter: create(),
      reopen: async () => create(),
      teardown: () => instance().dropInstance({ name }),
    };
  };
}

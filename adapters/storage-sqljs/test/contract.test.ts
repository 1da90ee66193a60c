import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageAdapter } from '@local-first/contract';
import { IDBFactory } from 'fake-indexeddb';
import initSqlJs from 'sql.js';
import { IndexedDbPersister, SqlJsStorageAdapter } from '../src/index.js';
import { NodeFilePersister } from '../src/node.js';

// In Node, sql.js finds its wasm file next to its own script; no locateFile is needed.
const sqlJs = initSqlJs();

describeStorageAdapter('sqljs in memory', async () => ({
  adapter: new SqlJsStorageAdapter({ sqlJs }),
  teardown: async () => {},
}));

describeStorageAdapter('sqljs with NodeFilePersister', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'lf-sqljs-contract-'));
  const create = () =>
    new SqlJsStorageAdapter({
      sqlJs,
      persister: new NodeFilePersister({ path: join(folder, 'db.sqlite') }),
      indexes: { items: ['n', 's', 'b'], tasks: ['title'] },
    });
  return {
    adapter: create(),
    reopen: async () => create(),
    teardown: () => rm(folder, { recursive: true, force: true }),
  };
});

describeStorageAdapter('sqljs with IndexedDbPersister on fake-indexeddb', async () => {
  const indexedDB = new IDBFactory();
  const create = () =>
    new SqlJsStorageAdapter({
      sqlJs,
      persister: new IndexedDbPersister({ databaseName: 'contract', indexedDB }),
    });
  return { adapter: create(), reopen: async () => create(), teardown: async () => {} };
});

/// <reference types="vite/client" />
import { describeStorageAdapter } from '@local-first/contract';
import initSqlJs from 'sql.js';
// Vite serves the wasm file and hands back its URL; sql.js's browser build asks for this one.
import wasmUrl from 'sql.js/dist/sql-wasm-browser.wasm?url';
import { expect, it } from 'vitest';
import { IndexedDbPersister, SqlJsStorageAdapter } from '../../src/index.js';

const sqlJs = initSqlJs({ locateFile: () => wasmUrl });

it('runs in Chromium', () => {
  console.info(`[storage-sqljs] browser: ${navigator.userAgent}`);
  expect(navigator.userAgent).toMatch(/Chrome\//);
  expect(typeof indexedDB.open).toBe('function');
});

describeStorageAdapter('sqljs in Chromium, in memory', async () => ({
  adapter: new SqlJsStorageAdapter({ sqlJs }),
  teardown: async () => {},
}));

let databases = 0;
describeStorageAdapter('sqljs in Chromium with IndexedDbPersister', async () => {
  const databaseName = `lf-sqljs-browser-${++databases}`;
  const create = () =>
    new SqlJsStorageAdapter({
      sqlJs,
      persister: new IndexedDbPersister({ databaseName }),
      indexes: { items: ['n', 's', 'b'] },
    });
  return {
    adapter: create(),
    reopen: async () => create(),
    teardown: () =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.deleteDatabase(databaseName);
        request.onsuccess = () => resolve();
        request.onerror = () => reject(request.error);
      }),
  };
});

import './node-globals.js';
import { describeStorageAdapter } from '@local-first/contract';
import localforage from 'localforage';
import { expect, it } from 'vitest';
import { localForageSetup } from './setups.js';

describeStorageAdapter(
  'localforage on IndexedDB (fake-indexeddb)',
  localForageSetup(localforage, localforage.INDEXEDDB),
);
describeStorageAdapter(
  'localforage on localStorage (kept in memory)',
  localForageSetup(localforage, localforage.LOCALSTORAGE),
);

it('runs the suites above on the driver each one names', async () => {
  for (const driver of [localforage.INDEXEDDB, localforage.LOCALSTORAGE]) {
    const instance = localforage.createInstance({ name: `driver-check-${driver}`, driver });
    await instance.ready();
    expect(instance.driver()).toBe(driver);
    await instance.dropInstance();
  }
});

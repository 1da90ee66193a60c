import { describeStorageAdapter } from '@local-first/contract';
import localforage from 'localforage';
import { expect, it } from 'vitest';
import { describeJournal } from '../journal-cases.js';
import { localForageSetup } from '../setups.js';

it('runs in Chromium, on its real IndexedDB and localStorage', async () => {
  console.info(`[storage-localforage] browser: ${navigator.userAgent}`);
  expect(navigator.userAgent).toMatch(/Chrome\//);
  for (const driver of [localforage.INDEXEDDB, localforage.LOCALSTORAGE]) {
    const instance = localforage.createInstance({ name: `driver-check-${driver}`, driver });
    await instance.ready();
    expect(instance.driver()).toBe(driver);
    await instance.dropInstance();
  }
});

describeStorageAdapter(
  'localforage in Chromium on IndexedDB',
  localForageSetup(localforage, localforage.INDEXEDDB),
);
describeStorageAdapter(
  'localforage in Chromium on localStorage',
  localForageSetup(localforage, localforage.LOCALSTORAGE),
);
describeJournal(localforage);

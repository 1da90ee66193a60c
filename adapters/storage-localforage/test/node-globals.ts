/**
 * localforage picks its drivers when it is first imported, from the globals it sees then; this
 * module must be imported before localforage. It gives Node an IndexedDB (fake-indexeddb) and a
 * localStorage kept in memory.
 */
import 'fake-indexeddb/auto';
import { MemoryLocalStorage } from './memory-local-storage.js';

if (typeof globalThis.localStorage === 'undefined') {
  Object.defineProperty(globalThis, 'localStorage', {
    value: new MemoryLocalStorage(),
    configurable: true,
  });
}

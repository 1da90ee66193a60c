import 'fake-indexeddb/auto';
import { describeStorageAdapter } from '@local-first/contract';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import localforage from 'localforage';
import { TabLeadership } from '../src/leadership.js';
import { TabStorageAdapter } from '../src/tab-storage.js';
import { FakeBrowserLocks } from './browser-double.js';

let stores = 0;

/** Tabs of one browser over one localforage store: `role` says which one the suite gets. */
function tabsSetup(role: 'follower' | 'leader') {
  return async () => {
    const name = `contract-${++stores}-${Math.random().toString(36).slice(2)}`;
    const browser = new FakeBrowserLocks();
    let tabs = 0;
    const tab = () => {
      const tabId = `tab${tabs++}`;
      return new TabStorageAdapter({
        name,
        leadership: new TabLeadership({ name, tabId, locks: browser.tab().locks }),
        channel: new BroadcastChannel(`${name}:tabs`),
        open: () =>
          new LocalForageStorageAdapter({
            localforage: localforage.createInstance({ name, storeName: 'kv' }),
          }),
      });
    };
    // A follower needs a leader that outlives it, as the other tabs of a browser do.
    const leader = role === 'follower' ? tab() : undefined;
    await leader?.open();
    return {
      adapter: tab(),
      reopen: async () => tab(),
      teardown: async () => {
        await leader?.close();
        await localforage.createInstance({ name, storeName: 'kv' }).dropInstance({ name });
      },
    };
  };
}

describeStorageAdapter(
  'tabs: a follower tab, through the leader (localforage)',
  tabsSetup('follower'),
);
describeStorageAdapter('tabs: the leading tab (localforage)', tabsSetup('leader'));

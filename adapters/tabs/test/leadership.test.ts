import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { TabLeadership } from '../src/leadership.js';
import { IndexedDbLease, type LeaseStore } from '../src/lease.js';
import { FakeBrowserLocks } from './browser-double.js';

const started: TabLeadership[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((tab) => tab.stop()));
});

/** Resolves once `test` holds over the tabs' states; fails with the states it last saw. */
function until(
  tabs: readonly TabLeadership[],
  test: (leading: boolean[]) => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const states = () => tabs.map((tab) => tab.isLeader);
  return new Promise((resolve, reject) => {
    const unsubscribes: (() => void)[] = [];
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(`${what}: not within ${timeoutMs} ms; leaders now ${JSON.stringify(states())}`),
        ),
      timeoutMs,
    );
    const check = () => {
      if (test(states())) finish();
    };
    for (const tab of tabs) unsubscribes.push(tab.changes.subscribe(check));
    check();
  });
}

const only = (index: number) => (leading: boolean[]) =>
  leading.every((value, at) => value === (at === index));

describe('with Web Locks', () => {
  const browserTabs = (count: number) => {
    const browser = new FakeBrowserLocks();
    return Array.from({ length: count }, (_, index) => {
      const tab = browser.tab();
      const leadership = new TabLeadership({ name: 'app', tabId: `tab${index}`, locks: tab.locks });
      started.push(leadership);
      return { tab, leadership };
    });
  };

  it('one tab leads; when it stops, the next one in line leads', async () => {
    const tabs = browserTabs(3);
    for (const { leadership } of tabs) leadership.start();
    const all = tabs.map(({ leadership }) => leadership);
    expect(all[0]!.mechanism).toBe('locks');
    await until(all, only(0), 'the first tab leads');
    await all[0]!.stop();
    await until(all, only(1), 'the second tab leads after the first stopped');
  });

  it('a tab that closes or crashes without a word hands leadership on', async () => {
    const tabs = browserTabs(3);
    for (const { leadership } of tabs) leadership.start();
    const all = tabs.map(({ leadership }) => leadership);
    await until(all, only(0), 'the first tab leads');
    tabs[0]!.tab.close();
    // The crashed tab's own object is gone with its page; only the others count.
    await until(
      all.slice(1),
      (leading) => leading[0] === true && leading[1] === false,
      'tab1 leads',
    );
  });

  it('a tab that stops while waiting never leads', async () => {
    const tabs = browserTabs(3);
    for (const { leadership } of tabs) leadership.start();
    const all = tabs.map(({ leadership }) => leadership);
    await until(all, only(0), 'the first tab leads');
    await all[1]!.stop();
    await all[0]!.stop();
    await until(all, only(2), 'the third tab leads, the second having left');
  });
});

describe('without Web Locks: a lease in IndexedDB', () => {
  /** Tabs of one origin: one IndexedDB, each tab its own connection and channel. */
  const leaseTabs = (
    count: number,
    wrap: (lease: LeaseStore, index: number) => LeaseStore = (l) => l,
    leaseMs = 400,
  ) => {
    const indexedDB = new IDBFactory();
    const name = `app-${Math.random()}`;
    return Array.from({ length: count }, (_, index) => {
      const leadership = new TabLeadership({
        name,
        tabId: `tab${index}`,
        locks: null,
        lease: wrap(new IndexedDbLease(name, indexedDB), index),
        leaseMs,
        renewMs: 100,
      });
      started.push(leadership);
      return leadership;
    });
  };

  it('exactly one tab leads, and a stopping leader hands over at once', async () => {
    const tabs = leaseTabs(3);
    for (const tab of tabs) tab.start();
    expect(tabs[0]!.mechanism).toBe('lease');
    await until(tabs, (leading) => leading.filter(Boolean).length === 1, 'one leader');
    const first = tabs.findIndex((tab) => tab.isLeader);
    await tabs[first]!.stop();
    await until(
      tabs,
      (leading) => leading.filter(Boolean).length === 1 && !leading[first],
      'another leader',
      // Well inside one lease: the resign message, not the expiry, moved it.
      300,
    );
  });

  it('a leader whose page goes before its release lands still hands over at once', async () => {
    let dying = -1;
    const tabs = leaseTabs(
      3,
      (lease, index) => ({
        claim: (holder, until, now, resigned) => lease.claim(holder, until, now, resigned),
        // The page is gone before IndexedDB answers: the release never lands.
        release: (holder) =>
          dying === index ? new Promise<void>(() => {}) : lease.release(holder),
      }),
      60_000,
    );
    for (const tab of tabs) tab.start();
    await until(tabs, (leading) => leading.filter(Boolean).length === 1, 'one leader');
    dying = tabs.findIndex((tab) => tab.isLeader);
    void tabs[dying]!.stop();
    // The lease runs a minute: only the resignation can have moved it.
    await until(
      tabs,
      (leading) => leading.filter(Boolean).length === 1 && !leading[dying],
      'another leader, from the resignation alone',
    );
  });

  it('a leader that freezes loses the lease once it has run out, to one other tab', async () => {
    let frozen = -1;
    const tabs = leaseTabs(3, (lease, index) => ({
      claim: (holder, until, now, resigned) =>
        frozen === index
          ? new Promise<boolean>(() => {})
          : lease.claim(holder, until, now, resigned),
      release: (holder) => lease.release(holder),
    }));
    for (const tab of tabs) tab.start();
    await until(tabs, (leading) => leading.filter(Boolean).length === 1, 'one leader');
    frozen = tabs.findIndex((tab) => tab.isLeader);
    const others = tabs.filter((_, index) => index !== frozen);
    await until(others, (leading) => leading.filter(Boolean).length === 1, 'a live tab leads');
  });

  it('never has two leaders among tabs that claim at the same moment', async () => {
    const tabs = leaseTabs(8);
    const seen: number[] = [];
    for (const tab of tabs)
      tab.changes.subscribe(() => seen.push(tabs.filter((each) => each.isLeader).length));
    for (const tab of tabs) tab.start();
    await until(tabs, (leading) => leading.filter(Boolean).length === 1, 'one leader');
    // Several renewal rounds.
    for (let round = 1; round <= 3; round++) {
      await tabs.find((tab) => tab.isLeader)!.stop();
      await until(
        tabs,
        (leading) => leading.filter(Boolean).length === 1,
        `one leader after handover ${round}`,
      );
    }
    expect(Math.max(...seen)).toBe(1);
  });
});

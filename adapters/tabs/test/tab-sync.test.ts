import type { Subscribable } from '@local-first/core';
import { afterEach, describe, expect, it } from 'vitest';
import { browserApp, type Tab } from './tabs.js';

const apps: ReturnType<typeof browserApp>[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function threeTabs(): Promise<Tab[]> {
  const browser = browserApp();
  apps.push(browser);
  return [await browser.open(), await browser.open(), await browser.open()];
}

/** Resolves once `source` holds a value `test` accepts; fails with the values it saw. */
function until<T>(source: Subscribable<T>, test: (value: T) => boolean, what: string) {
  const seen: T[] = [];
  return new Promise<T>((resolve, reject) => {
    let unsubscribe: (() => void) | undefined;
    let done = false;
    const timer = setTimeout(() => {
      unsubscribe?.();
      reject(new Error(`${what}: not within 5000 ms; saw ${JSON.stringify(seen)}`));
    }, 5_000);
    unsubscribe = source.subscribe((value) => {
      seen.push(value);
      if (done || !test(value)) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe?.());
      resolve(value);
    });
  });
}

const states = (tabs: readonly Tab[]) => tabs.map((tab) => tab.sync.connection.value).join();

describe('TabSync: one socket per browser, run by the tab that leads', () => {
  it('only the leader starts its strategies; every tab shows its connection', async () => {
    const tabs = await threeTabs();
    await Promise.all(tabs.map((tab) => tab.sync.start()));
    const [leader] = tabs;
    expect(leader!.sync.isLeader).toBe(true);
    await Promise.all(
      tabs.map((tab) => until(tab.sync.connection, (s) => s === 'connected', `tab ${tab.index}`)),
    );
    expect(tabs.map((tab) => tab.strategy.starts)).toEqual([1, 0, 0]);

    leader!.strategy.setState('reconnecting');
    await Promise.all(
      tabs.map((tab) =>
        until(tab.sync.connection, (s) => s === 'reconnecting', `tab ${tab.index}`),
      ),
    );
    await Promise.all(tabs.map((tab) => tab.sync.stop()));
    await Promise.all(
      tabs.map((tab) => until(tab.sync.connection, (s) => s === 'stopped', `tab ${tab.index}`)),
    );
    expect(states(tabs)).toBe('stopped,stopped,stopped');
  });

  it('a tab opened later hears how the leader is connected', async () => {
    const browser = browserApp();
    apps.push(browser);
    const first = await browser.open();
    await first.sync.start();
    await until(first.sync.connection, (s) => s === 'connected', 'the leader');
    const later = await browser.open();
    await until(later.sync.connection, (s) => s === 'connected', 'the tab opened later');
    expect(later.strategy.starts).toBe(0);
  });

  it("when the leader crashes, the next tab starts sync over every tab's pending changes", async () => {
    const tabs = await threeTabs();
    const [leader, second, third] = tabs as [Tab, Tab, Tab];
    await Promise.all(tabs.map((tab) => tab.sync.start()));
    await leader.todos.upsert({ id: 'from-leader', title: 'written by the leader' });
    await third.todos.upsert({ id: 'from-third', title: 'written by a follower' });
    leader.crash();
    await until(second.storage.leading, (leading) => leading, 'the second tab to lead');
    await until(second.sync.connection, (s) => s === 'connected', 'the new leader');
    await until(third.sync.connection, (s) => s === 'connected', 'the follower');
    expect([second.strategy.starts, third.strategy.starts]).toEqual([1, 0]);
    const pending = await second.client.getPendingEvents();
    expect(pending.map((event) => event.dataId).sort()).toEqual(['from-leader', 'from-third']);
  });

  it('every tab counts the changes not yet acknowledged, whoever wrote or acknowledged them', async () => {
    const tabs = await threeTabs();
    const [leader, second, third] = tabs as [Tab, Tab, Tab];
    await second.todos.upsert({ id: 'a', title: 'a' });
    await third.todos.upsertMany([
      { id: 'b', title: 'b' },
      { id: 'c', title: 'c' },
    ]);
    await Promise.all(
      tabs.map((tab) => until(tab.client.pendingCount, (n) => n === 3, `tab ${tab.index}`)),
    );
    const pending = await leader.strategy.host!.getPendingEvents();
    await leader.strategy.host!.markSynced(pending.map((event) => event.eventId));
    await Promise.all(
      tabs.map((tab) => until(tab.client.pendingCount, (n) => n === 0, `tab ${tab.index}`)),
    );
  });
});

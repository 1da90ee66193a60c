import type { Subscribable } from '@local-first/core';
import { afterEach, describe, expect, it } from 'vitest';
import { browserApp, type Todo } from './tabs.js';

const apps: ReturnType<typeof browserApp>[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function app() {
  const made = browserApp();
  apps.push(made);
  return made;
}

/** The latest value of a watch, and a wait that fails with what it last saw. */
function latest<T>(source: Subscribable<T>) {
  let value: T | undefined;
  let count = 0;
  const waiters = new Set<() => void>();
  source.subscribe((next) => {
    value = next;
    count++;
    for (const waiter of [...waiters]) waiter();
  });
  return {
    until(test: (value: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (count > 0 && test(value as T)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(value as T);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${what}: not within ${timeoutMs} ms; ${count} values, the last ${JSON.stringify(value)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

const ids = (items: readonly Todo[]) => items.map((item) => item.id).join();

describe('the tabs of one browser share one store through the tab that leads', () => {
  it('a write in any tab reaches every tab at once, and one store holds it', async () => {
    const browser = app();
    const [first, second, third] = [
      await browser.open(),
      await browser.open(),
      await browser.open(),
    ];
    expect([first.storage.isLeader, second.storage.isLeader, third.storage.isLeader]).toEqual([
      true,
      false,
      false,
    ]);
    const views = [first, second, third].map((tab) => latest(tab.todos.query().watch()));
    await second.todos.upsert({ id: 'a', title: 'from the second tab' });
    await third.todos.upsertMany([
      { id: 'b', title: 'from the third tab' },
      { id: 'c', title: 'also' },
    ]);
    await first.todos.delete('c');
    for (const [index, view] of views.entries()) {
      await view.until((items) => ids(items) === 'a,b', `tab ${index} shows a and b`);
    }
    for (const tab of [first, second, third]) {
      expect((await tab.todos.getPendingEvents()).map((event) => event.dataId)).toEqual([
        'a',
        'b',
        'c',
        'c',
      ]);
    }
  });

  it('when the leader crashes, the next tab leads over the same data, and writes go on', async () => {
    const browser = app();
    const [first, second, third] = [
      await browser.open(),
      await browser.open(),
      await browser.open(),
    ];
    await first.todos.upsert({ id: 'before', title: 'written by the leader' });
    await second.todos.upsert({ id: 'follower', title: 'written through it' });
    first.crash();
    const view = latest(third.todos.query().watch());
    await third.todos.upsert({ id: 'after', title: 'written after the crash' });
    await view.until((items) => ids(items) === 'after,before,follower', 'every write survives');
    expect(second.storage.isLeader).toBe(true);
    expect((await third.todos.getPendingEvents()).map((event) => event.dataId)).toEqual([
      'before',
      'follower',
      'after',
    ]);
  });

  it('a commit the leader never got to tell reaches every tab once the next one leads', async () => {
    const browser = app();
    const [first, second, third] = [
      await browser.open(),
      await browser.open(),
      await browser.open(),
    ];
    const view = latest(third.todos.query().watch());
    const counts = latest(third.client.pendingCount);
    await view.until((items) => items.length === 0, 'the empty list');
    // The page unloads between the commit and the message: IndexedDB has it, no tab heard.
    first.channel.sever();
    await first.todos.upsert({ id: 'untold', title: 'committed, never announced' });
    first.crash();
    await view.until((items) => ids(items) === 'untold', 'the untold write in the watch');
    await counts.until((count) => count === 1, 'the untold write counted');
    expect(second.storage.isLeader).toBe(true);
  });

  it('a transaction cut off by a handover runs again with the next leader, once', async () => {
    const browser = app();
    const [first, second] = [await browser.open(), await browser.open()];
    let crashed = false;
    let attempts = 0;
    await second.client.transaction(async (tx) => {
      attempts++;
      await tx.upsert(second.todos, { id: 'x', title: 'one' });
      if (!crashed) {
        crashed = true;
        first.crash();
      }
      await tx.upsert(second.todos, { id: 'y', title: 'two' });
    });
    expect(attempts).toBe(2);
    expect(second.storage.isLeader).toBe(true);
    // What the client hands on is what the second run stored, not what the first one wrote.
    const stored = (await second.todos.getPendingEvents()).map((event) => event.eventId);
    expect(second.pushed).toEqual([stored]);
    expect(ids(await second.todos.query().get())).toBe('x,y');
    expect((await second.todos.getPendingEvents()).map((event) => event.dataId)).toEqual([
      'x',
      'y',
    ]);
  });

  it('a tab opened later sees everything, and a failed transaction of a follower keeps nothing', async () => {
    const browser = app();
    const first = await browser.open();
    const second = await browser.open();
    await first.todos.upsert({ id: 'a', title: 'a' });
    await expect(
      second.client.transaction(async (tx) => {
        await tx.upsert(second.todos, { id: 'b', title: 'b' });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const late = await browser.open();
    expect(ids(await late.todos.query().get())).toBe('a');
    expect(late.client.clientId).toBe(first.client.clientId);
  });
});

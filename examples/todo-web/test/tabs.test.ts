import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, CHROMIUM, chromiumPresent, launchChromium } from './browser.js';
import {
  add,
  connection,
  type Device,
  item,
  openDevice,
  remove,
  rename,
  rows,
  toggle,
  WAIT_MS,
} from './pages.js';
import { type ServerProcess, startServerProcess } from './server-process.js';
import {
  leaderOf,
  pendingEverywhere,
  quickAdd,
  sameEverywhere,
  serverTitles,
} from './tab-pages.js';

const present = chromiumPresent('THE TABS TEST OF THE TODO APP');

/**
 * Three tabs of one browser (one context: one origin's IndexedDB, one set of Web Locks) and a
 * second device (another context), against the sync server as `pnpm start` runs it. Run once
 * on `localhost`, where Web Locks elect the leading tab, and once on a plain-http address,
 * where they are missing and the tabs take turns at a lease in IndexedDB.
 */
for (const origin of ['localhost', 'plain-http'] as const) {
  describe.skipIf(!present)(`several tabs of the todo app are one device (${origin})`, () => {
    let work: string;
    let staticDir: string;
    let server: ServerProcess;
    let browser: Browser;
    let context: BrowserContext;
    let url: string;
    let tabs: Device[];
    let other: Device;
    /** Every title added, in every tab: each must be on the server exactly once at the end. */
    const added: string[] = [];
    const removed = new Set<string>();
    const open = () => [...tabs, other];

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'lf-todo-tabs-'));
      staticDir = join(work, 'dist');
      await buildApp(staticDir);
      server = await startServerProcess({
        port: 0,
        store: `sqlite:${join(work, 'sync.db')}`,
        staticDir,
      });
      // A name that is not localhost: the page is not a secure context, so it has no Web Locks.
      const plain = origin === 'plain-http';
      browser = await launchChromium(
        plain ? ['--host-resolver-rules=MAP todo-app.test 127.0.0.1'] : [],
      );
      url = plain ? `http://todo-app.test:${server.port}/` : server.url;
      console.log(`[todo-web] tabs (${origin}) in Chromium ${browser.version()} (${CHROMIUM})`);
      context = await browser.newContext({ viewport: { width: 640, height: 520 } });
      tabs = [];
      for (const name of ['tab-1', 'tab-2', 'tab-3'])
        tabs.push(await openDevice(browser, name, url, context));
      other = await openDevice(browser, 'other-device', url);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('one tab leads and holds the socket; every tab says how it is connected', {
      timeout: 60_000,
    }, async () => {
      const leader = await leaderOf(tabs);
      expect(leader.name).toBe('tab-1');
      const locks = await leader.page.evaluate(() => 'locks' in navigator);
      expect(locks).toBe(origin === 'localhost');
      for (const device of open()) await connection(device, 'connected');
      // One socket for the browser: the server counts the leader's and the other device's.
      const health = (await (
        await fetch(new URL('/api/health', url.replace('todo-app.test', '127.0.0.1')))
      ).json()) as {
        connections: number;
      };
      expect(health.connections).toBe(2);
    });

    it('concurrent adds, edits and deletes in every tab reach every tab and the other device', {
      timeout: 90_000,
    }, async () => {
      await Promise.all(
        tabs.map(async (tab) => {
          for (let i = 0; i < 4; i++) {
            const title = `${tab.name} item ${i}`;
            added.push(title);
            await add(tab, title);
          }
        }),
      );
      await sameEverywhere(open());
      // Each tab edits another tab's item, ticks its own, deletes a third tab's.
      await Promise.all(
        tabs.map(async (tab, i) => {
          const next = tabs[(i + 1) % tabs.length]!.name;
          const previous = tabs[(i + 2) % tabs.length]!.name;
          await rename(tab, `${next} item 0`, `${next} item 0, edited in ${tab.name}`);
          await toggle(tab, `${tab.name} item 2`);
          await remove(tab, `${previous} item 1`);
          removed.add(`${previous} item 1`);
        }),
      );
      for (const tab of tabs) {
        const at = added.indexOf(`${tab.name} item 0`);
        added[at] = `${tab.name} item 0, edited in ${tabs[(tabs.indexOf(tab) + 2) % 3]!.name}`;
      }
      await pendingEverywhere(open(), 0);
      const titles = await sameEverywhere(open());
      expect(titles.length).toBe(9);
      expect(await rows(other)).toEqual(await rows(tabs[2]!));
    });

    it('an edit in progress survives a remote delete above it and is not saved by it', {
      timeout: 60_000,
    }, async () => {
      const [tab] = tabs as [Device];
      const titles = (await rows(tab)).map((row) => row.title);
      const edited = titles.at(-1)!;
      await item(tab, edited).getByTestId('todo-title').dblclick();
      const editor = tab.page.getByTestId('todo-edit-input');
      await editor.fill('half typ');
      // The other device deletes the first row: every row of the tab moves up one.
      await remove(other, titles[0]!);
      removed.add(titles[0]!);
      await item(tab, titles[0]!).waitFor({ state: 'detached', timeout: WAIT_MS });
      expect(await editor.inputValue()).toBe('half typ');
      expect(await editor.evaluate((node) => node === document.activeElement)).toBe(true);
      await editor.press('Escape');
      await pendingEverywhere(open(), 0);
      expect((await sameEverywhere(open())).at(-1)).toBe(edited);
    });

    it('a tab reloaded in the middle of sync loses nothing', { timeout: 90_000 }, async () => {
      const leader = await leaderOf(tabs);
      const batch = Array.from({ length: 40 }, (_, i) => `reloaded ${origin} ${i}`);
      added.push(...batch);
      await quickAdd(leader, batch);
      // All forty are in local storage once the tab shows them; the server may have none yet.
      await item(leader, batch.at(-1)!).waitFor({ timeout: WAIT_MS });
      await leader.page.reload();
      await leader.page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS });
      await pendingEverywhere(open(), 0);
      const titles = await sameEverywhere(open());
      for (const title of batch) expect(titles).toContain(title);
    });

    it('offline, the leader closes with changes not yet acknowledged; back online, they arrive', {
      timeout: 90_000,
    }, async () => {
      await context.setOffline(true);
      for (const tab of tabs) await connection(tab, 'offline');
      const leader = await leaderOf(tabs);
      const follower = tabs.find((tab) => tab !== leader)!;
      const fromLeader = [`offline in the leader ${origin} 1`, `offline in the leader ${origin} 2`];
      const fromFollower = [`offline in a follower ${origin}`];
      added.push(...fromLeader, ...fromFollower);
      for (const title of fromLeader) await add(leader, title);
      for (const title of fromFollower) await add(follower, title);
      await pendingEverywhere(tabs, 3);

      const closedAt = Date.now();
      await leader.page.close();
      tabs = tabs.filter((tab) => tab !== leader);
      const next = await leaderOf(tabs);
      console.log(
        `[todo-web] (${origin}) a new leader within ${Date.now() - closedAt} ms of the old one closing`,
      );
      await pendingEverywhere(tabs, 3);
      // The closed tab's changes are in the store the next leader holds, not in a slot.
      expect(await next.page.evaluate(() => navigator.onLine)).toBe(false);

      await context.setOffline(false);
      for (const tab of tabs) await connection(tab, 'connected');
      await pendingEverywhere(open(), 0);
      const titles = await sameEverywhere(open());
      for (const title of [...fromLeader, ...fromFollower]) expect(titles).toContain(title);
      tabs.push(await openDevice(browser, 'tab-4', url, context));
      await sameEverywhere(open());
    });

    it('500 adds typed quickly in a tab reach the server, and the count is right all along', {
      timeout: 180_000,
    }, async () => {
      const tab = tabs.find((candidate) => candidate.name === 'tab-4')!;
      const batch = Array.from({ length: 500 }, (_, i) => `quick ${origin} ${i}`);
      added.push(...batch);
      const started = Date.now();
      await quickAdd(tab, batch);
      await item(tab, batch.at(-1)!).waitFor({ timeout: WAIT_MS * 3 });
      const local = Date.now() - started;
      await pendingEverywhere(open(), 0);
      console.log(
        `[todo-web] (${origin}) 500 quick adds: in local storage after ${local} ms, ` +
          `all acknowledged after ${Date.now() - started} ms`,
      );
      await sameEverywhere(open());
    });

    it('the server holds every change exactly once, and every tab shows what it holds', {
      timeout: 60_000,
    }, async () => {
      const titles = await serverTitles(url.replace('todo-app.test', '127.0.0.1'), 'todos');
      const expected = added.filter((title) => !removed.has(title));
      const twice = [...titles].filter(([, count]) => count > 1);
      expect(twice, 'titles held more than once').toEqual([]);
      expect([...titles.keys()].sort()).toEqual([...expected].sort());
      const shown = await sameEverywhere(open());
      expect([...shown].sort()).toEqual([...expected].sort());
      await pendingEverywhere(open(), 0);
    });
  });
}

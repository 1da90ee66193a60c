import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIR, buildApp, CHROMIUM, chromiumPresent, launchChromium } from './browser.js';
import {
  add,
  connection,
  type Device,
  item,
  openDevice,
  pending,
  remove,
  rename,
  renameWithButton,
  rows,
  sideBySide,
  toggle,
  WAIT_MS,
} from './pages.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

const OUTPUT = join(APP_DIR, 'test-output');
const present = chromiumPresent('THE END-TO-END TEST OF THE TODO APP');

describe.skipIf(!present)('the todo app, in Chromium against the sync server', () => {
  let work: string;
  let staticDir: string;
  let store: string;
  let server: ServerProcess;
  let browser: Browser;
  let laptop: Device;
  let phone: Device;

  const screenshot = (device: Device, name: string) =>
    device.page.screenshot({ path: join(OUTPUT, `${name}-${device.name}.png`) });
  const waitForSameRows = async (a: Device, b: Device) => {
    await expect.poll(async () => rows(b), { timeout: WAIT_MS }).toEqual(await rows(a));
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-todo-web-'));
    staticDir = join(work, 'dist');
    store = `sqlite:${join(work, 'sync.db')}`;
    await mkdir(OUTPUT, { recursive: true });
    await buildApp(staticDir);
    server = await startServerProcess({ port: 0, store, staticDir });
    browser = await launchChromium();
    console.log(
      `[todo-web] end-to-end in Chromium ${browser.version()} (${CHROMIUM}) against ${server.url}; ` +
        `screenshots in ${relative(process.cwd(), OUTPUT) || OUTPUT}`,
    );
    laptop = await openDevice(browser, 'laptop', server.url);
    phone = await openDevice(browser, 'phone', server.url);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('shows a todo added in one window in the other', { timeout: 60_000 }, async () => {
    await connection(laptop, 'connected');
    await connection(phone, 'connected');
    await add(laptop, 'Buy milk');
    await add(laptop, 'Call Ada');
    await add(laptop, 'Water the plants');
    await pending(laptop, 0);
    await waitForSameRows(laptop, phone);
    expect((await rows(phone)).map((row) => row.title)).toEqual([
      'Buy milk',
      'Call Ada',
      'Water the plants',
    ]);
  });

  it('makes a second tab of the same browser part of the same device', {
    timeout: 60_000,
  }, async () => {
    const second = await openDevice(browser, 'laptop-tab-2', server.url, laptop.context);
    try {
      // One tab leads (it holds the election's lock, the store's writer lock and the socket);
      // the other goes through it.
      const held = await second.page.evaluate(async () =>
        ((await navigator.locks.query()).held ?? []).map((lock) => lock.name).sort(),
      );
      expect(held).toEqual(['local-first-todo', 'local-first:localforage:local-first-todo/store']);
      await connection(second, 'connected');
      await waitForSameRows(laptop, second);
      await add(second, 'From the second tab');
      await item(laptop, 'From the second tab').waitFor({ timeout: WAIT_MS });
      await remove(laptop, 'From the second tab');
      await pending(laptop, 0);
      await pending(second, 0);
      await waitForSameRows(laptop, phone);
    } finally {
      await second.page.close();
    }
  });

  it('syncs edits, ticks and deletes both ways', { timeout: 60_000 }, async () => {
    await toggle(phone, 'Buy milk');
    await rename(laptop, 'Call Ada', 'Call Ada about Friday');
    await renameWithButton(phone, 'Water the plants', 'Water the ferns');
    await add(phone, 'Book the dentist');
    await remove(laptop, 'Book the dentist');
    await pending(laptop, 0);
    await pending(phone, 0);
    await waitForSameRows(laptop, phone);
    expect(await rows(laptop)).toEqual([
      { title: 'Buy milk', done: true },
      { title: 'Call Ada about Friday', done: false },
      { title: 'Water the ferns', done: false },
    ]);
    await screenshot(laptop, '1-synced');
  });

  it('keeps offline changes and sends them when back online', { timeout: 60_000 }, async () => {
    const before = await rows(laptop);
    await phone.context.setOffline(true);
    await connection(phone, 'offline');

    await rename(phone, 'Buy milk', 'Buy oat milk');
    await toggle(phone, 'Call Ada about Friday');
    await remove(phone, 'Water the ferns');
    await pending(phone, 3);
    await screenshot(phone, '2-offline');
    await sideBySide(
      browser,
      [
        { device: laptop, caption: 'laptop: online, has not heard of the changes yet' },
        { device: phone, caption: 'phone: offline, three changes waiting' },
      ],
      join(OUTPUT, 'two-windows.png'),
    );
    expect(await rows(phone)).toEqual([
      { title: 'Buy oat milk', done: true },
      { title: 'Call Ada about Friday', done: true },
    ]);
    // Nothing can have left the phone: the laptop still shows the old list.
    expect(await rows(laptop)).toEqual(before);

    await phone.context.setOffline(false);
    await connection(phone, 'connected');
    await pending(phone, 0);
    await waitForSameRows(phone, laptop);
    expect(await rows(laptop)).toEqual(await rows(phone));
  });

  it('reconnects by itself after the server restarts', { timeout: 90_000 }, async () => {
    const port = server.port;
    await server.stop();
    await connection(laptop, 'reconnecting');
    await connection(phone, 'reconnecting');
    await add(laptop, 'Written while the server was down');
    await pending(laptop, 1);

    server = await startServerProcess({ port, store, staticDir });
    expect(server.port).toBe(port);
    await connection(laptop, 'connected');
    await connection(phone, 'connected');
    await pending(laptop, 0);

    await add(phone, 'Written after the restart');
    await pending(phone, 0);
    await waitForSameRows(phone, laptop);
    expect((await rows(laptop)).map((row) => row.title)).toEqual([
      'Buy oat milk',
      'Call Ada about Friday',
      'Written while the server was down',
      'Written after the restart',
    ]);
    await screenshot(laptop, '3-after-restart');
    await screenshot(phone, '3-after-restart');
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, chromiumPresent, launchChromium } from './browser.js';
import { connection, type Device, openDevice, pending, WAIT_MS } from './pages.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

const present = chromiumPresent('THE ACCOUNTS TEST OF THE TODO APP');

/** The demo accounts and rules of `pnpm start:accounts`, as that command passes them. */
function demoFiles(): { tokens: string; rules: string } {
  const manifest = createRequire(import.meta.url).resolve(
    '@local-first/example-sync-server/package.json',
  );
  const demo = join(dirname(manifest), 'demo');
  return { tokens: join(demo, 'tokens.json'), rules: join(demo, 'rules.json') };
}

/** The private list, or a shared list's section. */
function list(device: Device, which: 'mine' | 'household'): Locator {
  return which === 'mine'
    ? device.page.getByTestId('todo-list')
    : device.page.getByTestId('shared-household');
}

function titles(device: Device, which: 'mine' | 'household'): Promise<string[]> {
  return list(device, which)
    .getByTestId('todo-title')
    .evaluateAll((items) => items.map((item) => item.textContent ?? ''));
}

async function addTo(device: Device, which: 'mine' | 'household', title: string): Promise<void> {
  const input =
    which === 'mine'
      ? device.page.getByTestId('new-todo-form').getByTestId('new-todo')
      : list(device, which).getByTestId('new-todo');
  await input.fill(title);
  await input.press('Enter');
  await list(device, which)
    .getByTestId('todo-title')
    .getByText(title, { exact: true })
    .waitFor({ timeout: WAIT_MS });
}

/** Waits until a list shows exactly `expected` (in any order); fails with what it showed. */
async function shows(device: Device, which: 'mine' | 'household', expected: string[]) {
  await expect
    .poll(async () => (await titles(device, which)).sort(), {
      timeout: WAIT_MS,
      message: `${device.name}'s ${which} list`,
    })
    .toEqual([...expected].sort());
}

describe.skipIf(!present)('the todo app with accounts, in Chromium against rules', () => {
  let work: string;
  let server: ServerProcess;
  let browser: Browser;
  let alice: Device;
  let bob: Device;
  let carol: Device;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-todo-accounts-'));
    const staticDir = join(work, 'dist');
    await buildApp(staticDir);
    const { tokens, rules } = demoFiles();
    server = await startServerProcess({
      port: 0,
      store: `sqlite:${join(work, 'accounts.db')}`,
      staticDir,
      args: ['--auth', `tokens:${tokens}`, '--rules', rules],
    });
    browser = await launchChromium();
    // Each user in a browser context of their own: separate profiles, as on separate devices.
    alice = await openDevice(browser, 'alice', `${server.url}/?account=alice`);
    bob = await openDevice(browser, 'bob', `${server.url}/?account=bob`);
    carol = await openDevice(browser, 'carol', `${server.url}/?account=carol`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps private lists apart and shares the household list', { timeout: 90_000 }, async () => {
    for (const device of [alice, bob, carol]) await connection(device, 'connected');
    expect(await alice.page.getByTestId('account').textContent()).toBe('Signed in as alice');
    await addTo(alice, 'mine', 'Alice: call the bank');
    await addTo(bob, 'mine', 'Bob: fix the bike');
    await addTo(carol, 'mine', 'Carol: book flights');
    await addTo(alice, 'household', 'Milk');
    await addTo(bob, 'household', 'Bread');
    for (const device of [alice, bob, carol]) await pending(device, 0);
    // The shared list reached both members, so sync ran both ways for each of them.
    await shows(alice, 'household', ['Milk', 'Bread']);
    await shows(bob, 'household', ['Milk', 'Bread']);
    expect(await titles(alice, 'mine')).toEqual(['Alice: call the bank']);
    expect(await titles(bob, 'mine')).toEqual(['Bob: fix the bike']);
    expect(await titles(carol, 'mine')).toEqual(['Carol: book flights']);
    // Carol is no member of the household list: she has no section for it.
    expect(await carol.page.getByTestId('shared-household').count()).toBe(0);
  });

  it('shows an account its own data on a fresh device, and nobody else’s', {
    timeout: 90_000,
  }, async () => {
    // A second device of bob's, empty: everything it shows came from the server.
    const bobsPhone = await openDevice(browser, 'bob-phone', `${server.url}/?account=bob`);
    try {
      await connection(bobsPhone, 'connected');
      await shows(bobsPhone, 'mine', ['Bob: fix the bike']);
      await shows(bobsPhone, 'household', ['Milk', 'Bread']);
      await addTo(bobsPhone, 'mine', 'Bob: from the phone');
      await shows(bob, 'mine', ['Bob: fix the bike', 'Bob: from the phone']);
      await pending(bobsPhone, 0);
      expect(await titles(alice, 'mine')).toEqual(['Alice: call the bank']);
    } finally {
      await bobsPhone.context.close();
    }
  });

  it('switches accounts in one browser without mixing their data', {
    timeout: 90_000,
  }, async () => {
    // Alice's browser signs in as carol: carol's list, from the server; then back to alice.
    await alice.page.getByTestId('sign-in-carol').click();
    await alice.page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS });
    await connection(alice, 'connected');
    await shows(alice, 'mine', ['Carol: book flights']);
    await alice.page.getByTestId('sign-in-alice').click();
    await alice.page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS });
    await connection(alice, 'connected');
    await shows(alice, 'mine', ['Alice: call the bank']);
    await shows(alice, 'household', ['Milk', 'Bread']);
    await shows(carol, 'mine', ['Carol: book flights']);
  });
});

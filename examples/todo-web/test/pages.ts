import type { Browser, BrowserContext, Page } from 'playwright-core';

/** How long a DOM condition may take to come true: sync is fast, a reconnect takes seconds. */
export const WAIT_MS = 20_000;

/** One browser window of the app with storage of its own: a device, as far as sync can tell. */
export interface Device {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** What a list shows, row by row. */
export interface Row {
  title: string;
  done: boolean;
}

/** A window in a fresh context (a fresh profile: a second device), or in `context` if given. */
export async function openDevice(
  browser: Browser,
  name: string,
  url: string,
  context?: BrowserContext,
): Promise<Device> {
  context ??= await browser.newContext({ viewport: { width: 640, height: 520 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[${name}] page error:`, error));
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: WAIT_MS });
  return { name, context, page };
}

/** Resolves when the connection indicator shows `state` (connected, offline, reconnecting…). */
export async function connection(device: Device, state: string): Promise<void> {
  await device.page
    .locator(`[data-testid="connection"][data-state="${state}"]`)
    .waitFor({ timeout: WAIT_MS });
}

/** Resolves when the app counts `count` changes not yet acknowledged by the server. */
export async function pending(device: Device, count: number): Promise<void> {
  await device.page
    .locator(`[data-testid="pending"][data-count="${count}"]`)
    .waitFor({ timeout: WAIT_MS });
}

export function rows(device: Device): Promise<Row[]> {
  return device.page.getByTestId('todo-item').evaluateAll((items) =>
    items.map((item) => ({
      title: item.querySelector('[data-testid="todo-title"]')?.textContent ?? '',
      done: (item as HTMLElement).dataset.done === 'true',
    })),
  );
}

export async function add(device: Device, title: string): Promise<void> {
  await device.page.getByTestId('new-todo').fill(title);
  await device.page.getByTestId('new-todo').press('Enter');
  await item(device, title).waitFor({ timeout: WAIT_MS });
}

export function item(device: Device, title: string) {
  return device.page
    .getByTestId('todo-item')
    .filter({ has: device.page.getByTestId('todo-title').getByText(title, { exact: true }) });
}

/** Edits a title the way people do: double-click it, type, Enter. */
export async function rename(device: Device, from: string, to: string): Promise<void> {
  await item(device, from).getByTestId('todo-title').dblclick();
  const editor = device.page.getByTestId('todo-edit-input');
  await editor.fill(to);
  await editor.press('Enter');
  await item(device, to).waitFor({ timeout: WAIT_MS });
}

/** Edits a title through the pencil button instead. */
export async function renameWithButton(device: Device, from: string, to: string): Promise<void> {
  await item(device, from).getByTestId('todo-edit').click();
  const editor = device.page.getByTestId('todo-edit-input');
  await editor.fill(to);
  await editor.press('Enter');
  await item(device, to).waitFor({ timeout: WAIT_MS });
}

export async function toggle(device: Device, title: string): Promise<void> {
  const row = item(device, title);
  const after = (await row.getAttribute('data-done')) === 'true' ? 'false' : 'true';
  await row.getByTestId('todo-toggle').click();
  await row.and(device.page.locator(`[data-done="${after}"]`)).waitFor({ timeout: WAIT_MS });
}

export async function remove(device: Device, title: string): Promise<void> {
  await item(device, title).getByTestId('todo-delete').click();
  await item(device, title).waitFor({ state: 'detached', timeout: WAIT_MS });
}

/**
 * Puts the apps of several windows next to each other, captioned, in one image: the picture
 * of the README. The browser composes it, so no image library is needed.
 */
export async function sideBySide(
  browser: Browser,
  windows: readonly { device: Device; caption: string }[],
  path: string,
): Promise<void> {
  const shots = await Promise.all(
    windows.map(async ({ device, caption }) => ({
      caption,
      src: `data:image/png;base64,${(await device.page.locator('main').screenshot()).toString('base64')}`,
    })),
  );
  const page = await browser.newPage({ viewport: { width: 1200, height: 400 } });
  try {
    await page.setContent(`<!doctype html>
      <body style="margin:0;background:#f4f5f7;font:14px system-ui,sans-serif;color:#6b7280">
        <div id="shot" style="display:inline-flex;align-items:flex-start;gap:24px;padding:16px 20px 20px">
          ${shots.map((shot) => `<figure style="margin:0"><figcaption style="margin-bottom:8px">${shot.caption}</figcaption><img src="${shot.src}" style="display:block"></figure>`).join('')}
        </div>
      </body>`);
    await page.evaluate(() => Promise.all([...document.images].map((image) => image.decode())));
    await page.locator('#shot').screenshot({ path });
  } finally {
    await page.close();
  }
}

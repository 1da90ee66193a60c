import { expect } from 'vitest';
import { type Device, rows, WAIT_MS } from './pages.js';

/** The tab that holds the store and the socket for every tab of its browser, if one does. */
export async function leaderOf(tabs: readonly Device[]): Promise<Device> {
  let seen = '';
  await expect
    .poll(
      async () => {
        const flags = await Promise.all(
          tabs.map((tab) => tab.page.evaluate(() => document.body.dataset.leader ?? 'unset')),
        );
        seen = tabs.map((tab, i) => `${tab.name}=${flags[i]}`).join(', ');
        return flags.filter((flag) => flag === 'true').length;
      },
      { timeout: WAIT_MS },
    )
    .toBe(1)
    .catch(() => {
      throw new Error(`exactly one tab should lead; saw ${seen}`);
    });
  for (const tab of tabs) {
    if ((await tab.page.evaluate(() => document.body.dataset.leader)) === 'true') return tab;
  }
  throw new Error(`no tab leads: ${seen}`);
}

/** Adds `titles` as fast as a script can submit the form: one task, no waiting in between. */
export async function quickAdd(device: Device, titles: readonly string[]): Promise<void> {
  await device.page.evaluate((all) => {
    const form = document.querySelector<HTMLFormElement>('[data-testid="new-todo-form"]')!;
    const input = document.querySelector<HTMLInputElement>('[data-testid="new-todo"]')!;
    for (const title of all) {
      input.value = title;
      form.requestSubmit();
    }
  }, titles);
}

/** Resolves when every device shows the same rows as the first; fails with the differences. */
export async function sameEverywhere(devices: readonly Device[]): Promise<string[]> {
  let report = '';
  await expect
    .poll(
      async () => {
        const lists = await Promise.all(devices.map((device) => rows(device)));
        const first = JSON.stringify(lists[0]);
        const differ = lists
          .map((list, i) => ({ list, name: devices[i]!.name }))
          .filter(({ list }) => JSON.stringify(list) !== first);
        report = `${devices[0]!.name} has ${lists[0]!.length} rows; ${
          differ.map(({ list, name }) => `${name} has ${list.length}`).join(', ') || 'all agree'
        }`;
        return differ.length;
      },
      { timeout: WAIT_MS * 3 },
    )
    .toBe(0)
    .catch(() => {
      throw new Error(`the devices never showed the same rows: ${report}`);
    });
  return (await rows(devices[0]!)).map((row) => row.title);
}

/** Resolves when every device counts `count` changes not yet acknowledged; fails with the counts. */
export async function pendingEverywhere(devices: readonly Device[], count: number): Promise<void> {
  let seen = '';
  await expect
    .poll(
      async () => {
        const counts = await Promise.all(
          devices.map((device) =>
            device.page.evaluate(
              () => document.querySelector<HTMLElement>('[data-testid="pending"]')?.dataset.count,
            ),
          ),
        );
        seen = devices.map((device, i) => `${device.name}=${counts[i]}`).join(', ');
        return counts.every((value) => value === String(count));
      },
      { timeout: WAIT_MS * 3 },
    )
    .toBe(true)
    .catch(() => {
      throw new Error(`not every device counted ${count} pending changes: ${seen}`);
    });
}

interface ServerEvent {
  eventId: string;
  dataId: string;
  operation: string;
  hlc?: string;
  data?: { title?: string } | null;
}

/** The server's log of a repository, every page of it, over REST. */
export async function serverLog(url: string, repository: string): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  let after = 0;
  for (;;) {
    const response = await fetch(
      new URL(`/api/events/${encodeURIComponent(repository)}?afterSequence=${after}`, url),
    );
    if (!response.ok) throw new Error(`GET events: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as {
      events: ServerEvent[];
      hasMore: boolean;
      lastSequence: number;
    };
    events.push(...page.events);
    if (!page.hasMore || page.events.length === 0) return events;
    after = page.lastSequence;
  }
}

/** The titles the server's log folds to (the latest stamp per id wins), and how often each is. */
export async function serverTitles(url: string, repository: string): Promise<Map<string, number>> {
  const log = await serverLog(url, repository);
  expect(new Set(log.map((event) => event.eventId)).size, 'every event id once').toBe(log.length);
  const latest = new Map<string, ServerEvent>();
  for (const event of log) {
    const before = latest.get(event.dataId);
    if (!before || (event.hlc ?? '') >= (before.hlc ?? '')) latest.set(event.dataId, event);
  }
  const titles = new Map<string, number>();
  for (const event of latest.values()) {
    if (event.operation === 'delete' || !event.data?.title) continue;
    titles.set(event.data.title, (titles.get(event.data.title) ?? 0) + 1);
  }
  return titles;
}

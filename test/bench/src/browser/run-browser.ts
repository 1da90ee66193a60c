/**
 * The browser group of `pnpm bench` (`BENCH_ONLY=browser`): real Chromium, headless, with a
 * profile on disk, against our server on SQLite. Catch-up of many records into localforage on
 * IndexedDB and into sql.js with its IndexedDB persister; local writes one by one and in one
 * transaction; each beside raw IndexedDB doing the same puts (the floor); the longest task of
 * the page meanwhile; and a leading tab closing while another takes over.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_PAGE_EVENTS } from '@local-first/core/adapter';
import { CHROMIUM, CHROMIUM_ARGS } from '@local-first/test-services';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, defaultClientConditions } from 'vite';
import { OurServer, YjsServer } from '../sync/processes.js';
import { yjsPush } from '../sync/scenarios/push.js';
import { connectOurDevice, makeRecord } from '../sync/workload.js';
import type { LongTasks } from './page/long-tasks.js';
import type { Bench, BrowserStorage } from './page/page.js';

const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'page');

export { CHROMIUM };

export interface BrowserSizes {
  /** Records caught up, one run each. */
  catchUp: number[];
  /** Local writes, one by one and in one transaction. */
  localWrites: number;
  /** Changes each tab writes before the leader closes. */
  handoverChanges: number;
}

export interface Measured {
  ms: number;
  /** raw IndexedDB doing the same puts, ms */
  floorMs: number;
  longTasks: LongTasks;
  /** sql.js: the final save on close, not part of `ms`. */
  closeMs?: number;
}

export interface Handover {
  mechanism: 'locks' | 'lease';
  /** From the old leader's page closing to the new one leading. */
  ms: number;
  written: number;
  pendingAfter: number;
}

export interface BrowserResults {
  chromium: string;
  catchUp: { storage: BrowserStorage; records: number; result: Measured }[];
  localWrites: {
    storage: BrowserStorage;
    records: number;
    mode: 'one-by-one' | 'one-transaction';
    result: Measured;
  }[];
  handover: Handover[];
  /** The Yjs peer: y-websocket into y-indexeddb, the same sizes. */
  yjs: {
    catchUp: { records: number; ms: number; longTasks: LongTasks }[];
    localWrites: {
      records: number;
      mode: 'one-by-one' | 'one-transaction';
      ms: number;
      longTasks: LongTasks;
    }[];
  };
}

/** Builds the page, as an app's bundle is built, into `outDir`. */
async function buildPage(outDir: string): Promise<void> {
  await build({
    root: PAGE_DIR,
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['@local-first/source', ...defaultClientConditions] },
    // Names stay readable in the profiles of BENCH_BROWSER_PROF.
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: !process.env.BENCH_BROWSER_PROF },
  });
}

/** Puts `records` records into `repository` on the server, 1,000 per transaction. */
async function seed(server: OurServer, repository: string, records: number): Promise<void> {
  const device = await connectOurDevice({ origin: server.origin, transport: 'ws', repository });
  try {
    for (let first = 0; first < records; first += 1_000) {
      const batch = [];
      for (let n = first; n < Math.min(records, first + 1_000); n++)
        batch.push(makeRecord('record', n));
      await device.repository.upsertMany(batch);
    }
    await new Promise<void>((resolve) => {
      const stop = device.client.pendingCount.subscribe((count) => {
        if (count !== 0) return;
        queueMicrotask(() => stop());
        resolve();
      });
    });
  } finally {
    await device.dispose();
  }
}

/** A browser with a profile on disk (IndexedDB on disk, as a user has it), and its folder. */
async function launch(extra: readonly string[] = []) {
  const profile = await mkdtemp(join(tmpdir(), 'lf-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, ...extra],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`[bench page] ${error.stack ?? error}\n`));
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });
  return page;
}

type BenchFunctions = Bench;
function call<K extends keyof BenchFunctions>(
  page: Page,
  name: K,
  ...args: Parameters<BenchFunctions[K]>
): Promise<Awaited<ReturnType<BenchFunctions[K]>>> {
  return page.evaluate(
    ([fn, parameters]) =>
      (
        (window as unknown as { bench: Record<string, (...values: unknown[]) => unknown> }).bench[
          fn as string
        ] as (...values: unknown[]) => Promise<unknown>
      )(...(parameters as unknown[])),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<BenchFunctions[K]>>>;
}

/**
 * Runs `work` under the page's CPU profiler when `BENCH_BROWSER_PROF=DIR` is set, and writes
 * the profile to `DIR/<name>.cpuprofile` (read it with `src/sync/profile-summary.ts`).
 */
async function profiled<T>(page: Page, name: string, work: () => Promise<T>): Promise<T> {
  const directory = process.env.BENCH_BROWSER_PROF;
  if (!directory) return work();
  const session = await page.context().newCDPSession(page);
  await session.send('Profiler.enable');
  await session.send('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.send('Profiler.stop');
    await mkdir(directory, { recursive: true });
    await writeFile(join(directory, `${name}.cpuprofile`), JSON.stringify(profile));
    await session.detach();
  }
}

/** Whether Chromium is here to run the group. */
export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM);
}

/** Runs the browser group. */
export async function runBrowser(
  sizes: BrowserSizes,
  log: (line: string) => void,
): Promise<BrowserResults> {
  const work = await mkdtemp(join(tmpdir(), 'lf-bench-browser-'));
  const staticDir = join(work, 'page');
  await buildPage(staticDir);
  const server = await OurServer.start('sqlite', ['--static', staticDir]);
  const yjsServer = await YjsServer.start();
  const browser = await launch();
  try {
    const url = `${server.origin}/`;
    const page = await openPage(browser.context, url);
    const results: BrowserResults = {
      chromium: browser.context.browser()?.version() ?? 'unknown',
      catchUp: [],
      localWrites: [],
      handover: [],
      yjs: { catchUp: [], localWrites: [] },
    };
    for (const records of sizes.catchUp) {
      const repository = `browser-${records}`;
      log(`browser: seeding ${records} records`);
      await seed(server, repository, records);
      for (const storage of ['localforage', 'sqljs'] as const) {
        log(`browser: catch-up of ${records} into ${storage}`);
        const run = await profiled(page, `catchup-${storage}-${records}`, () =>
          call(page, 'catchUp', { storage, repository, expected: records }),
        );
        if (run.count !== records)
          throw new Error(`catch-up into ${storage}: ${run.count} of ${records} events stored`);
        const floorMs = await call(page, 'rawFloor', records, DEFAULT_MAX_PAGE_EVENTS);
        results.catchUp.push({
          storage,
          records,
          result: { ms: run.syncMs, floorMs, longTasks: run.longTasks, closeMs: run.closeMs },
        });
      }
      log(`browser: Yjs, seeding ${records} records, then its catch-up into y-indexeddb`);
      await yjsPush(yjsServer, records, repository);
      const yjs = await call(page, 'yjsCatchUp', { url: yjsServer.url, room: repository });
      if (yjs.count !== records)
        throw new Error(`Yjs catch-up: the document holds ${yjs.count} of ${records} records`);
      results.yjs.catchUp.push({ records, ms: yjs.syncMs, longTasks: yjs.longTasks });
    }
    for (const storage of ['localforage', 'sqljs'] as const) {
      for (const mode of ['one-by-one', 'one-transaction'] as const) {
        log(`browser: ${sizes.localWrites} local writes ${mode} into ${storage}`);
        const run = await call(page, 'localWrites', { storage, changes: sizes.localWrites, mode });
        const floorMs = await call(
          page,
          'rawFloor',
          sizes.localWrites,
          mode === 'one-by-one' ? 1 : sizes.localWrites,
        );
        results.localWrites.push({
          storage,
          records: sizes.localWrites,
          mode,
          result: { ms: run.ms, floorMs, longTasks: run.longTasks, closeMs: run.closeMs },
        });
      }
    }
    for (const mode of ['one-by-one', 'one-transaction'] as const) {
      log(`browser: Yjs, ${sizes.localWrites} local writes ${mode} into y-indexeddb`);
      const yjs = await call(page, 'yjsLocalWrites', { changes: sizes.localWrites, mode });
      results.yjs.localWrites.push({
        records: sizes.localWrites,
        mode,
        ms: yjs.ms,
        longTasks: yjs.longTasks,
      });
    }
    await page.close();
    log('browser: leader handover, with Web Locks');
    results.handover.push(await handover(browser.context, url, 'locks', sizes.handoverChanges));
    await browser.close();
    // A name that is not localhost: not a secure context, so no Web Locks; the tabs use the lease.
    const plain = await launch(['--host-resolver-rules=MAP bench-app.test 127.0.0.1']);
    try {
      log('browser: leader handover, with the lease (no Web Locks)');
      const plainUrl = `http://bench-app.test:${new URL(server.origin).port}/`;
      results.handover.push(
        await handover(plain.context, plainUrl, 'lease', sizes.handoverChanges),
      );
    } finally {
      await plain.close();
    }
    return results;
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    await yjsServer.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Two tabs write; the leading one closes; how long until the other leads, and what it holds. */
async function handover(
  context: BrowserContext,
  url: string,
  mechanism: Handover['mechanism'],
  changes: number,
): Promise<Handover> {
  const app = `handover-${mechanism}-${Date.now()}`;
  const leader = await openPage(context, url);
  const follower = await openPage(context, url);
  const first = await call(leader, 'openTab', { app });
  await call(follower, 'openTab', { app });
  if (!first.leading) throw new Error('handover: the first tab does not lead');
  await call(leader, 'tabWrites', { from: 0, changes });
  await call(follower, 'tabWrites', { from: changes, changes });
  const leading = call(follower, 'untilLeading');
  const closedAt = Date.now();
  await leader.close({ runBeforeUnload: true });
  const leadingAt = await leading;
  const state = await call(follower, 'tabState');
  await follower.close();
  return {
    mechanism,
    ms: leadingAt - closedAt,
    written: changes * 2,
    pendingAfter: state.pending,
  };
}

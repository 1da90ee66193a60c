/// <reference types="vite/client" />
/**
 * The page of the browser benchmark. The runner (`../run-browser.ts`) opens it in Chromium and
 * calls `window.bench`: catch-up from the real server into a real IndexedDB, local writes, the
 * raw IndexedDB floor of the same puts, and tabs handing the store over.
 */
import { LocalFirstClient, Repository, type StorageAdapter } from '@local-first/core';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import { IndexedDbPersister, SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { TabStorageAdapter } from '@local-first/tabs';
import { WsTransport } from '@local-first/transport-ws';
import { type SyncActivity, WebSocketSyncStrategy } from '@local-first/websocket';
import localforage from 'localforage';
import initSqlJs from 'sql.js';
import wasmUrl from 'sql.js/dist/sql-wasm-browser.wasm?url';
import { watchLongTasks } from './long-tasks.js';
import { rawFloor } from './raw-floor.js';
import { yjsCatchUp, yjsLocalWrites } from './yjs.js';

interface BenchRecord {
  id: string;
  title: string;
  n: number;
}

export type BrowserStorage = 'localforage' | 'sqljs';

const sqlJs = initSqlJs({ locateFile: () => wasmUrl });
let stores = 0;

function storageOf(kind: BrowserStorage): StorageAdapter {
  const name = `bench-${kind}-${++stores}-${Math.random().toString(36).slice(2)}`;
  if (kind === 'sqljs')
    return new SqlJsStorageAdapter({
      sqlJs,
      persister: new IndexedDbPersister({ databaseName: name }),
    });
  return new LocalForageStorageAdapter({
    localforage: localforage.createInstance({ name, storeName: 'store' }),
  });
}

/** Catches a repository of the server up into a fresh store; resolves once it is all there. */
async function catchUp(options: { storage: BrowserStorage; repository: string; expected: number }) {
  const repository = new Repository<BenchRecord>({ name: options.repository });
  const strategy = new WebSocketSyncStrategy({
    websocketUrl: `ws://${location.host}/sync`,
    transport: new WsTransport({ WebSocket }),
  });
  const client = new LocalFirstClient({
    repositories: [repository],
    localStorage: storageOf(options.storage),
    syncStrategies: [strategy],
  });
  await client.initialize();
  const complete = new Promise<void>((resolve) => {
    const stop = strategy.activityChanges.subscribe((activity: SyncActivity) => {
      if (activity.type !== 'sync_complete' || activity.repository !== options.repository) return;
      stop();
      resolve();
    });
  });
  const longTasks = watchLongTasks();
  const started = performance.now();
  await client.start();
  await complete;
  const syncMs = performance.now() - started;
  const tasks = await longTasks.stop();
  await client.stop();
  const count = (await client.storage.getEvents({ repository: options.repository })).length;
  const closing = performance.now();
  await client.dispose();
  const closeMs = performance.now() - closing;
  return { syncMs, closeMs, count, longTasks: tasks };
}

/** `changes` local upserts, awaited one by one, or all in one `client.transaction`. */
async function localWrites(options: {
  storage: BrowserStorage;
  changes: number;
  mode: 'one-by-one' | 'one-transaction';
}) {
  const repository = new Repository<BenchRecord>({ name: 'local' });
  const client = new LocalFirstClient({
    repositories: [repository],
    localStorage: storageOf(options.storage),
  });
  await client.initialize();
  const records = Array.from({ length: options.changes }, (_, n) => ({
    id: `r${n}`,
    title: `record ${n}`,
    n,
  }));
  const longTasks = watchLongTasks();
  const started = performance.now();
  if (options.mode === 'one-by-one') for (const record of records) await repository.upsert(record);
  else await client.transaction(async (tx) => void (await tx.upsertMany(repository, records)));
  const ms = performance.now() - started;
  const tasks = await longTasks.stop();
  const closing = performance.now();
  await client.dispose();
  return { ms, closeMs: performance.now() - closing, longTasks: tasks };
}

/** This tab as one of an app's tabs: it writes through whichever tab leads. */
let tab:
  | { client: LocalFirstClient; repository: Repository<BenchRecord>; leadingAt?: number }
  | undefined;

async function openTab(options: { app: string }) {
  const storage = new TabStorageAdapter({
    name: options.app,
    open: () =>
      new LocalForageStorageAdapter({
        localforage: localforage.createInstance({ name: options.app, storeName: 'store' }),
      }),
  });
  const repository = new Repository<BenchRecord>({ name: 'tabs' });
  const client = new LocalFirstClient({ repositories: [repository], localStorage: storage });
  await client.initialize();
  const opened: NonNullable<typeof tab> = { client, repository };
  storage.leading.subscribe((leading) => {
    if (!leading) return;
    opened.leadingAt = Date.now();
    for (const resolve of leadingWaiters.splice(0)) resolve(opened.leadingAt);
  });
  tab = opened;
  // A tab that goes gives the lead up at once (with the lease, rather than when it runs out).
  addEventListener('pagehide', (event) => {
    if (!event.persisted) void client.dispose();
  });
  return { leading: storage.isLeader };
}

async function tabWrites(options: { from: number; changes: number }) {
  for (let n = options.from; n < options.from + options.changes; n++)
    await tab!.repository.upsert({ id: `t${n}`, title: `from a tab ${n}`, n });
}

const leadingWaiters: ((at: number) => void)[] = [];

/** Resolves with the time (`Date.now()`) this tab started to lead. */
function untilLeading(): Promise<number> {
  if (tab?.leadingAt !== undefined) return Promise.resolve(tab.leadingAt);
  return new Promise((resolve) => leadingWaiters.push(resolve));
}

async function tabState() {
  const pending = await tab!.client.getPendingEvents('tabs');
  return { leadingAt: tab!.leadingAt, pending: pending.length };
}

const bench = {
  catchUp,
  localWrites,
  rawFloor,
  openTab,
  tabWrites,
  tabState,
  untilLeading,
  yjsCatchUp,
  yjsLocalWrites,
};
export type Bench = typeof bench;
(window as unknown as { bench: Bench }).bench = bench;
document.body.dataset.ready = 'true';

/**
 * The worker roles of the watch scenarios (scenarios/watch.ts; see worker.ts for the protocol
 * with the benchmark). Each one sets up, sends `ready`, waits for `go`, does its part while it
 * measures its own CPU (`process.cpuUsage`), sends `result`, and keeps its client until `close`.
 *
 * - `watch-local`: a client without sync writes the records, one by one or in batches.
 * - `watch-writer-ours`: a connected client writes the records until the server acknowledged all.
 * - `watch-reader-ours`: a connected client until it holds every record another one writes.
 * - `watch-catchup-ours`: a fresh client syncs everything the server holds.
 * - `watch-writer-yjs`, `watch-reader-yjs`, `watch-catchup-yjs`: the same for the Yjs peer (see
 *   watch-roles-yjs.ts).
 *
 * Our clients have a watch (`watch`: none, the whole repository, or a filtered limited query)
 * whose listener reads the emitted array, as an app's would; a role is done once the watch
 * shows the final state. Where the code has no batched writes (before `upsertMany` and
 * `client.transaction` existed), a batch is that many single upserts; the result says which ran.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFirstClient, Repository, type StorageAdapter } from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
import initSqlJs from 'sql.js';
import { nextCommand } from './load-roles.js';
import type { ChildMessage } from './processes.js';
import { WRITES_BETWEEN_YIELDS } from './scenarios/push.js';
import { sleep, yieldToEventLoop } from './stats.js';
import { type BenchRecord, connectOurDevice, createOurDevice, makeRecord } from './workload.js';

export type Send = (message: ChildMessage) => void;

/** No watch, one of the whole repository, or `where done == false, orderBy title, limit`. */
export type WatchKind = 'none' | 'all' | 'filtered';
/** How a batch is written: single upserts, `repository.upsertMany`, or `client.transaction`. */
export type WriteApi = 'single' | 'upsertMany' | 'transaction';

/** The filtered watch's limit. */
export const FILTER_LIMIT = 50;
/** The records' ids start with this (`makeRecord`). */
export const PREFIX = 'record';
/** How often a reader looks whether the last record is there yet, ms. */
const POLL_MS = 10;

export interface WatchRoleParameters {
  /** Records written, or expected. */
  records: number;
  /** Records per write call (writers); 1 is one by one. */
  batch: number;
  api: WriteApi;
  watch: WatchKind;
  /** `http://…` of our server or `ws://…` of the Yjs server; none for `watch-local`. */
  url?: string;
  /** Repository (ours) or room (Yjs). */
  name: string;
  /** Catch-up only: the client's storage (memory by default). */
  storage?: 'memory' | 'sqljs';
}

/** What one worker measured. */
export interface WatchRun {
  /** From `go` to done (all written and acknowledged, or all there and shown), ms. */
  wallMs: number;
  /** This process's user + system CPU over the same time, ms. */
  cpuMs: number;
  /** Writers: until the last write call returned, ms. */
  writesDoneMs: number;
  /** Records the client holds at the end. */
  count: number;
  /** Watch emissions (Yjs: observer calls) after `go`; the first, empty one is not counted. */
  emissions: number;
  /** What the writes used (`single` where the API is missing). */
  api: WriteApi;
  /** Refusals and server errors the writer saw. */
  errors: string[];
}

export interface WatchRoleResult extends ChildMessage, WatchRun {
  type: 'result';
}

/** A role: sets up, reports, and returns how to close what it holds. */
export type WatchRole = (parameters: unknown, send: Send) => Promise<() => Promise<void>>;

export const WATCH_ROLES: Record<string, WatchRole> = {
  'watch-local': (parameters, send) => localRole(parameters as WatchRoleParameters, send),
  'watch-writer-ours': (parameters, send) => writerOurs(parameters as WatchRoleParameters, send),
  'watch-reader-ours': (parameters, send) => readerOurs(parameters as WatchRoleParameters, send),
  'watch-catchup-ours': (parameters, send) => catchUpOurs(parameters as WatchRoleParameters, send),
};

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

/** Measures wall time and this process's CPU over `work`. */
export async function measured(work: () => Promise<number | undefined>) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const writesDoneMs = (await work()) ?? 0;
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, writesDoneMs };
}

/** Ids the filtered watch shows once every record is there (the query's order: title, id). */
function finalFilteredIds(records: number): string[] {
  const open: BenchRecord[] = [];
  for (let n = 0; n < records; n++) {
    const record = makeRecord(PREFIX, n);
    if (!record.done) open.push(record);
  }
  const byCodePoints = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  open.sort((a, b) => byCodePoints(a.title, b.title) || byCodePoints(a.id, b.id));
  return open.slice(0, FILTER_LIMIT).map((record) => record.id);
}

interface Watching {
  emissions: number;
  /** Resolves once an emission shows the final state. */
  settled: Promise<void>;
  stop(): void;
}

/** Subscribes a watch and waits for its first emission (the results before `go`). */
/** A role's result: what it measured, what it holds, and how often its watch emitted. */
function sendResult(
  send: Send,
  cost: Awaited<ReturnType<typeof measured>>,
  count: number,
  watching: { emissions: number } | undefined,
  api: WriteApi,
): void {
  send({
    type: 'result',
    ...cost,
    count,
    emissions: watching?.emissions ?? 0,
    api,
    errors: [],
  } satisfies WatchRoleResult);
}

async function attachWatch(
  repository: Repository<BenchRecord>,
  kind: WatchKind,
  records: number,
): Promise<Watching | undefined> {
  if (kind === 'none') return undefined;
  const expected = kind === 'filtered' ? finalFilteredIds(records) : undefined;
  const query =
    kind === 'all'
      ? repository.query()
      : repository.query().where('done', '==', false).orderBy('title').limit(FILTER_LIMIT);
  let first!: () => void;
  const started = new Promise<void>((resolve) => {
    first = resolve;
  });
  let settle!: () => void;
  const watching: Watching = {
    emissions: 0,
    settled: new Promise<void>((resolve) => {
      settle = resolve;
    }),
    stop: () => undefined,
  };
  const isFinal = (items: readonly BenchRecord[]) =>
    expected
      ? items.length === expected.length &&
        items.every((item, index) => item.id === expected[index])
      : items.length === records;
  const live = query.watch();
  live.onError((error) => process.stderr.write(`watch failed: ${String(error)}\n`));
  watching.stop = live.subscribe((items) => {
    watching.emissions += 1;
    first();
    if (isFinal(items)) settle();
  });
  await started;
  watching.emissions = 0;
  return watching;
}

/** Writes records 0 … records − 1; returns the API it used. */
async function writeAll(
  client: LocalFirstClient,
  repository: Repository<BenchRecord>,
  options: WatchRoleParameters,
): Promise<WriteApi> {
  const { records, batch } = options;
  let api = options.api;
  // The code before the change has neither: a batch is then that many single upserts.
  if (api === 'upsertMany' && typeof repository.upsertMany !== 'function') api = 'single';
  if (api === 'transaction' && typeof client.transaction !== 'function') api = 'single';
  if (api === 'single') {
    for (let index = 0; index < records; index++) {
      await repository.upsert(makeRecord(PREFIX, index));
      if (index % WRITES_BETWEEN_YIELDS === WRITES_BETWEEN_YIELDS - 1) await yieldToEventLoop();
    }
    return api;
  }
  for (let first = 0; first < records; first += batch) {
    const end = Math.min(records, first + batch);
    if (api === 'upsertMany') {
      const items: BenchRecord[] = [];
      for (let index = first; index < end; index++) items.push(makeRecord(PREFIX, index));
      await repository.upsertMany(items);
    } else {
      await client.transaction(async (tx) => {
        for (let index = first; index < end; index++)
          await tx.upsert(repository, makeRecord(PREFIX, index));
      });
    }
    await yieldToEventLoop();
  }
  return api;
}

/** Resolves once `present()` holds, looking every POLL_MS. */
async function until(present: () => Promise<boolean>): Promise<void> {
  while (!(await present())) await sleep(POLL_MS);
}

const lastId = (records: number) => makeRecord(PREFIX, records - 1).id;

export async function ready(send: Send): Promise<void> {
  collect();
  send({ type: 'ready' });
  await nextCommand('go');
}

async function localRole(options: WatchRoleParameters, send: Send) {
  const repository = new Repository<BenchRecord>({ name: options.name });
  const client = new LocalFirstClient({
    repositories: [repository],
    localStorage: new MemoryStorageAdapter(),
  });
  await client.initialize();
  const watching = await attachWatch(repository, options.watch, options.records);
  await ready(send);
  let api: WriteApi = options.api;
  const cost = await measured(async () => {
    api = await writeAll(client, repository, options);
    await watching?.settled;
    return undefined;
  });
  const count = (await repository.query().get()).length;
  sendResult(send, cost, count, watching, api);
  return async () => {
    watching?.stop();
    await client.dispose();
  };
}

async function writerOurs(options: WatchRoleParameters, send: Send) {
  const device = await connectOurDevice({
    origin: options.url!,
    transport: 'ws',
    repository: options.name,
  });
  const errors: string[] = [];
  let acknowledged = 0;
  let allAcknowledged!: () => void;
  const acked = new Promise<void>((resolve) => {
    allAcknowledged = resolve;
  });
  const stop = device.strategy.activityChanges.subscribe((activity) => {
    if (activity.type === 'acknowledged') {
      acknowledged += activity.eventIds.length;
      if (acknowledged >= options.records) allAcknowledged();
    }
    if (activity.type === 'server_error' || activity.type === 'rejected') {
      errors.push(JSON.stringify(activity));
      allAcknowledged();
    }
  });
  await ready(send);
  let api: WriteApi = options.api;
  const cost = await measured(async () => {
    const start = performance.now();
    api = await writeAll(device.client, device.repository, options);
    const writesDoneMs = performance.now() - start;
    await acked;
    // Read only once every event was acknowledged: it copies every pending event.
    if (errors.length === 0)
      await until(async () => (await device.client.getPendingEvents()).length === 0);
    return writesDoneMs;
  });
  const count = (await device.repository.query().get()).length;
  send({ type: 'result', ...cost, count, emissions: 0, api, errors } satisfies WatchRoleResult);
  return async () => {
    stop();
    await device.dispose();
  };
}

async function readerOurs(options: WatchRoleParameters, send: Send) {
  const device = await connectOurDevice({
    origin: options.url!,
    transport: 'ws',
    repository: options.name,
  });
  const watching = await attachWatch(device.repository, options.watch, options.records);
  const last = lastId(options.records);
  await ready(send);
  const cost = await measured(async () => {
    await until(async () => (await device.repository.getById(last)) !== undefined);
    await watching?.settled;
    return undefined;
  });
  const count = (await device.repository.query().get()).length;
  sendResult(send, cost, count, watching, options.api);
  return async () => {
    watching?.stop();
    await device.dispose();
  };
}

async function catchUpOurs(options: WatchRoleParameters, send: Send) {
  let storage: StorageAdapter = new MemoryStorageAdapter();
  let directory: string | undefined;
  if (options.storage === 'sqljs') {
    directory = await mkdtemp(join(tmpdir(), 'lf-bench-watch-'));
    storage = new SqlJsStorageAdapter({
      sqlJs: initSqlJs(),
      persister: new NodeFilePersister({ path: join(directory, 'client.db') }),
    });
  }
  const device = await createOurDevice({
    origin: options.url!,
    transport: 'ws',
    repository: options.name,
    storage,
  });
  const watching = await attachWatch(device.repository, options.watch, options.records);
  await ready(send);
  const cost = await measured(async () => {
    const done = device.syncCompleted();
    await device.client.start();
    await done;
    await watching?.settled;
    return undefined;
  });
  const count = (await device.client.storage.getEvents({ repository: options.name })).length;
  sendResult(send, cost, count, watching, options.api);
  return async () => {
    watching?.stop();
    await device.dispose();
    if (directory) await rm(directory, { recursive: true, force: true });
  };
}

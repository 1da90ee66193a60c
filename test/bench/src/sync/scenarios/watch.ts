/**
 * Watches and batched writes: what a live query costs the client it runs in, beside the same
 * work without one and beside the Yjs peer. Every client runs in its own worker process
 * (watch-roles.ts), which measures its own CPU:
 *
 * - local writes, no network: the records one by one, then in `upsertMany` and in
 *   `client.transaction` batches, each without a watch and with one of the whole repository;
 * - push in batches (one transaction each) until acknowledged, a live reader beside the writer
 *   without a watch and with one; the Yjs peer: one Y transaction per batch, a live reader;
 * - catch-up of those records by a fresh client without a watch, with a whole-repository one
 *   and with a filtered, limited one (memory storage, and sql.js without and with the whole
 *   watch); the Yjs peer: a fresh document.
 */
import { CpuWatch } from '../proc.js';
import {
  type Child,
  closeWorker,
  OurServer,
  startWorker,
  workersLoadBuilt,
  YjsServer,
} from '../processes.js';
import type { Runs } from '../run.js';
import type {
  WatchKind,
  WatchRoleParameters,
  WatchRoleResult,
  WatchRun,
  WriteApi,
} from '../watch-roles.js';

export type { WatchRun };

export interface WatchSizes {
  /** Records of every run. */
  records: number;
  /** Records per batch (per transaction) of the batched writes. */
  batch: number;
  /** Runs of each measurement; the median run (by CPU) is reported. */
  runs: number;
}

/** A writer and a live reader beside it. */
export interface PushPair {
  writer: WatchRun;
  reader: WatchRun;
  /** Records per second until the server acknowledged (Yjs: echoed) the last. */
  recordsPerSecond: number;
  serverCpuMs: number;
}

/** The same work without a watch and with one. */
export interface Paired<T> {
  none: T;
  watched: T;
}

/** The same work without a watch and with one, each run `sizes.runs` times. */
type PairedRuns<T> = Paired<Runs<T>>;

export interface WatchResults {
  sizes: WatchSizes;
  /** Wall time of the whole group, ms. */
  durationMs: number;
  /** Whether the workers loaded the built packages (else the sources through tsx). */
  built: boolean;
  local: {
    single: PairedRuns<WatchRun>;
    upsertMany: PairedRuns<WatchRun>;
    transaction: PairedRuns<WatchRun>;
  };
  push: { ours: PairedRuns<PushPair>; yjs: Runs<PushPair> };
  catchUp: {
    memory: { none: Runs<WatchRun>; all: Runs<WatchRun>; filtered: Runs<WatchRun> };
    sqljs: PairedRuns<WatchRun>;
    yjs: Runs<WatchRun>;
  };
}

type Step = <T>(name: string, work: () => Promise<T>) => Promise<T>;

const RESULT_TIMEOUT_MS = 900_000;

/** Starts a worker and waits until it is set up. */
async function prepared(role: string, parameters: WatchRoleParameters): Promise<Child> {
  const worker = startWorker(role, parameters, { built: true });
  try {
    await worker.next('ready', 120_000);
    return worker;
  } catch (error) {
    await closeWorker(worker);
    throw error;
  }
}

async function result(worker: Child, expected: number): Promise<WatchRun> {
  const { type: _type, ...run } = await worker.next<WatchRoleResult>('result', RESULT_TIMEOUT_MS);
  if (run.errors.length > 0) throw new Error(`${worker.label}: ${run.errors.join('; ')}`);
  if (run.count !== expected)
    throw new Error(`${worker.label}: the client holds ${run.count} of ${expected} records`);
  return run;
}

/** One worker alone: set up, `go`, its result. */
async function alone(role: string, parameters: WatchRoleParameters): Promise<WatchRun> {
  const worker = await prepared(role, parameters);
  try {
    worker.send({ type: 'go' });
    return await result(worker, parameters.records);
  } finally {
    await closeWorker(worker);
  }
}

/** A client without sync writes the records, with the API and watch given. */
export function localWrites(
  sizes: WatchSizes,
  api: WriteApi,
  watch: WatchKind,
  name: string,
): Promise<WatchRun> {
  return alone('watch-local', {
    records: sizes.records,
    batch: api === 'single' ? 1 : sizes.batch,
    api,
    watch,
    name,
  });
}

/** A writer pushes the records in batches while a live reader (watching or not) gets them. */
export async function pushWithReader(
  server: Child,
  side: 'ours' | 'yjs',
  parameters: Omit<WatchRoleParameters, 'api'>,
): Promise<PushPair> {
  const common = { ...parameters, api: 'upsertMany' as const };
  const reader = await prepared(`watch-reader-${side}`, common);
  let writer: Child | undefined;
  try {
    writer = await prepared(`watch-writer-${side}`, { ...common, watch: 'none' });
    const cpu = new CpuWatch(server.pid);
    reader.send({ type: 'go' });
    writer.send({ type: 'go' });
    const [written, read] = await Promise.all([
      result(writer, parameters.records),
      result(reader, parameters.records),
    ]);
    return {
      writer: written,
      reader: read,
      recordsPerSecond: parameters.records / (written.wallMs / 1000),
      serverCpuMs: cpu.stop(),
    };
  } finally {
    if (writer) await closeWorker(writer);
    await closeWorker(reader);
  }
}

/** A fresh client syncs the records the server holds. */
export function catchUpWatched(
  side: 'ours' | 'yjs',
  parameters: Omit<WatchRoleParameters, 'api' | 'batch'>,
): Promise<WatchRun> {
  return alone(`watch-catchup-${side}`, { ...parameters, api: 'single', batch: 1 });
}

function median<T>(runs: T[], key: (run: T) => number): Runs<T> {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return { runs, median: sorted[Math.floor((sorted.length - 1) / 2)]! };
}

/**
 * `times` runs of each variant, interleaved (first of each, second of each…) so that a drift
 * of the machine does not favour one; the median of each by `key`.
 */
async function interleaved<K extends string, T>(
  times: number,
  variants: Record<K, (index: number) => Promise<T>>,
  key: (run: T) => number,
): Promise<Record<K, Runs<T>>> {
  const names = Object.keys(variants) as K[];
  const runs = Object.fromEntries(names.map((name) => [name, [] as T[]])) as Record<K, T[]>;
  for (let index = 0; index < times; index++)
    for (const name of names) runs[name].push(await variants[name](index));
  return Object.fromEntries(
    names.map((name) => [name, median(runs[name], key)]),
  ) as unknown as Record<K, Runs<T>>;
}

const byCpu = (run: WatchRun) => run.cpuMs;
const pairCpu = (pair: PushPair) => pair.writer.cpuMs + pair.reader.cpuMs;

/** The whole group, each server started for it and stopped after. */
export async function runWatch(sizes: WatchSizes, step: Step): Promise<WatchResults> {
  const began = performance.now();
  const { records, batch, runs } = sizes;
  const count = `${records.toLocaleString('en-US')}, ${runs} run${runs === 1 ? '' : 's'} each`;
  const ourServer = await OurServer.start();
  let ours: WatchResults['push']['ours'];
  let memory: WatchResults['catchUp']['memory'];
  let sqljs: WatchResults['catchUp']['sqljs'];
  try {
    const url = ourServer.origin;
    const push = (watch: WatchKind) => (index: number) =>
      pushWithReader(ourServer.child, 'ours', {
        url,
        name: `watch_push_${watch}_${index}`,
        records,
        batch,
        watch,
      });
    ours = await step(`watch: ours push ${count}, reader without and with a watch`, () =>
      interleaved(runs, { none: push('none'), watched: push('all') }, pairCpu),
    );
    // Every catch-up syncs the records of the first push run.
    const catchUp = (watch: WatchKind, storage: 'memory' | 'sqljs') => () =>
      catchUpWatched('ours', { url, name: 'watch_push_none_0', records, watch, storage });
    memory = await step(`watch: ours catch-up ${count}, memory, no / whole / filtered watch`, () =>
      interleaved(
        runs,
        {
          none: catchUp('none', 'memory'),
          all: catchUp('all', 'memory'),
          filtered: catchUp('filtered', 'memory'),
        },
        byCpu,
      ),
    );
    sqljs = await step(`watch: ours catch-up ${count}, sql.js, no / whole watch`, () =>
      interleaved(
        runs,
        { none: catchUp('none', 'sqljs'), watched: catchUp('all', 'sqljs') },
        byCpu,
      ),
    );
  } finally {
    await ourServer.stop();
  }

  const yjsServer = await YjsServer.start();
  let yjsPush: Runs<PushPair>;
  let yjsCatchUp: Runs<WatchRun>;
  try {
    const url = yjsServer.url;
    ({ yjs: yjsPush } = await step(`watch: yjs push ${count}, transactions, live reader`, () =>
      interleaved(
        runs,
        {
          yjs: (index: number) =>
            pushWithReader(yjsServer.child, 'yjs', {
              url,
              name: `watch_push_${index}`,
              records,
              batch,
              watch: 'all',
            }),
        },
        pairCpu,
      ),
    ));
    ({ yjs: yjsCatchUp } = await step(`watch: yjs catch-up ${count}`, () =>
      interleaved(
        runs,
        {
          yjs: () => catchUpWatched('yjs', { url, name: 'watch_push_0', records, watch: 'all' }),
        },
        byCpu,
      ),
    ));
  } finally {
    await yjsServer.stop();
  }

  const local = (api: WriteApi) =>
    step(`watch: local ${count}, ${api}, without and with a watch`, () =>
      interleaved(
        runs,
        {
          none: () => localWrites(sizes, api, 'none', 'local'),
          watched: () => localWrites(sizes, api, 'all', 'local'),
        },
        byCpu,
      ),
    );
  const locals = {
    single: await local('single'),
    upsertMany: await local('upsertMany'),
    transaction: await local('transaction'),
  };
  return {
    sizes,
    durationMs: performance.now() - began,
    built: workersLoadBuilt(),
    local: locals,
    push: { ours, yjs: yjsPush },
    catchUp: { memory, sqljs, yjs: yjsCatchUp },
  };
}

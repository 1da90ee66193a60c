/**
 * The second table of `pnpm bench`: watches and batched writes. Each figure without a watch,
 * with one, and the Yjs peer's where it has one; targets from the issue "Reactive queries
 * that scale".
 */
import { type Target, tableLines } from './report.js';
import type { Runs, WatchOnlyResults } from './run.js';
import type { PushPair, WatchResults, WatchRun } from './scenarios/watch.js';
import { FILTER_LIMIT, type WriteApi } from './watch-roles.js';

export interface WatchRow {
  label: string;
  unit: 's' | 'ms' | 'records/s';
  none?: number;
  watched?: number;
  yjs?: number;
  /** Emissions of the watch in the run with it (Yjs: observer calls). */
  emissions?: number;
  target?: Target;
}

/** With one watch attached, a figure may cost at most this many times the same without one. */
export const WATCH_FACTOR = 1.5;
/** Batched push until acknowledged: at least this many times Yjs's records per second. */
export const PUSH_OVER_YJS = 2;

const n = (value: number) => value.toLocaleString('en-US');
const pushRate = (runs: Runs<PushPair>) => medianOf(runs, (pair) => pair.recordsPerSecond);
const perThousand = (run: WatchRun, records: number) => (run.cpuMs / records) * 1000;

function withinFactor(none: number, watched: number): Target {
  return { text: `≤ ${WATCH_FACTOR}× no watch`, met: watched <= WATCH_FACTOR * none };
}

/** A batched run that fell back to single upserts (the code before `upsertMany`) says so. */
function fellBack(runs: readonly WatchRun[], api: WriteApi): string {
  return runs.some((run) => run.api !== api) ? ' [API absent: 1,000 single upserts each]' : '';
}

const pair = <T>(runs: { none: Runs<T>; watched: Runs<T> }) => ({
  none: runs.none.median,
  watched: runs.watched.median,
});

/** The median of one figure over all the runs (rates: the median run by CPU may be an outlier). */
function medianOf<T>(runs: Runs<T>, key: (run: T) => number): number {
  const values = runs.runs.map(key).sort((a, b) => a - b);
  return values[Math.floor((values.length - 1) / 2)]!;
}

/** The median runs of every measurement. */
function medians(watch: WatchResults) {
  const { local, push, catchUp } = watch;
  return {
    local: {
      single: pair(local.single),
      upsertMany: pair(local.upsertMany),
      transaction: pair(local.transaction),
    },
    push: { ours: pair(push.ours), yjs: push.yjs.median },
    catchUp: {
      memory: {
        none: catchUp.memory.none.median,
        all: catchUp.memory.all.median,
        filtered: catchUp.memory.filtered.median,
      },
      sqljs: pair(catchUp.sqljs),
      yjs: catchUp.yjs.median,
    },
  };
}

export function watchRows(watch: WatchResults): WatchRow[] {
  const { records, batch } = watch.sizes;
  const { local, push, catchUp } = medians(watch);
  const all = watch;
  const rows: WatchRow[] = [];
  const localRow = (label: string, pair: { none: WatchRun; watched: WatchRun }): WatchRow => ({
    label,
    unit: 's',
    none: pair.none.cpuMs / 1000,
    watched: pair.watched.cpuMs / 1000,
    emissions: pair.watched.emissions,
    target: withinFactor(pair.none.cpuMs, pair.watched.cpuMs),
  });
  rows.push(
    localRow(`local, no network: ${n(records)} upserts one by one, client CPU`, local.single),
    localRow(
      `… in upsertMany of ${n(batch)}${fellBack([local.upsertMany.none, local.upsertMany.watched], 'upsertMany')}`,
      local.upsertMany,
    ),
    localRow(
      `… in client.transaction of ${n(batch)} tx.upsert${fellBack([local.transaction.none, local.transaction.watched], 'transaction')}`,
      local.transaction,
    ),
  );
  const { ours, yjs } = push;
  const pushApi = fellBack([ours.none.writer, ours.watched.writer], 'upsertMany');
  const both = (pair: PushPair) => pair.writer.cpuMs + pair.reader.cpuMs;
  rows.push(
    {
      label: `push ${n(records)} in upsertMany of ${n(batch)} until acked${pushApi} (Yjs: a transaction each), records/s`,
      unit: 'records/s',
      none: pushRate(all.push.ours.none),
      watched: pushRate(all.push.ours.watched),
      yjs: pushRate(all.push.yjs),
      target: {
        text: `with watch ≥ ${PUSH_OVER_YJS}× Yjs`,
        met: pushRate(all.push.ours.watched) >= PUSH_OVER_YJS * pushRate(all.push.yjs),
      },
    },
    {
      label: '… writer + live reader CPU (the watch is on the reader)',
      unit: 's',
      none: both(ours.none) / 1000,
      watched: both(ours.watched) / 1000,
      yjs: both(yjs) / 1000,
      emissions: ours.watched.reader.emissions,
      target: withinFactor(both(ours.none), both(ours.watched)),
    },
    {
      label: '… reader CPU per 1,000 records',
      unit: 'ms',
      none: perThousand(ours.none.reader, records),
      watched: perThousand(ours.watched.reader, records),
      yjs: perThousand(yjs.reader, records),
      emissions: ours.watched.reader.emissions,
      target: withinFactor(ours.none.reader.cpuMs, ours.watched.reader.cpuMs),
    },
    {
      label: '… writer CPU per 1,000 records',
      unit: 'ms',
      none: perThousand(ours.none.writer, records),
      watched: perThousand(ours.watched.writer, records),
      yjs: perThousand(yjs.writer, records),
    },
    {
      label: '… server CPU per 1,000 records',
      unit: 'ms',
      none: (ours.none.serverCpuMs / records) * 1000,
      watched: (ours.watched.serverCpuMs / records) * 1000,
      yjs: (yjs.serverCpuMs / records) * 1000,
    },
  );
  const { memory, sqljs } = catchUp;
  const yjsCatchUp = catchUp.yjs;
  const catchUpRow = (label: string, watched: WatchRun): WatchRow => ({
    label,
    unit: 's',
    none: memory.none.cpuMs / 1000,
    watched: watched.cpuMs / 1000,
    yjs: yjsCatchUp.cpuMs / 1000,
    emissions: watched.emissions,
    target: {
      text: `≤ ${WATCH_FACTOR}× no watch, ≤ Yjs`,
      met: watched.cpuMs <= WATCH_FACTOR * memory.none.cpuMs && watched.cpuMs <= yjsCatchUp.cpuMs,
    },
  });
  const rate = (runs: Runs<WatchRun>) => medianOf(runs, (run) => records / (run.wallMs / 1000));
  rows.push(
    catchUpRow(
      `catch-up of ${n(records)} by a fresh client, memory storage, whole-repository watch: client CPU`,
      memory.all,
    ),
    catchUpRow(
      `… filtered, limited watch (done == false, orderBy title, limit ${FILTER_LIMIT}): client CPU`,
      memory.filtered,
    ),
    {
      label: '… whole-repository watch: events/s',
      unit: 'records/s',
      none: rate(all.catchUp.memory.none),
      watched: rate(all.catchUp.memory.all),
      yjs: rate(all.catchUp.yjs),
    },
    {
      label: '… into sql.js (file persister), whole-repository watch: client CPU',
      unit: 's',
      none: sqljs.none.cpuMs / 1000,
      watched: sqljs.watched.cpuMs / 1000,
      emissions: sqljs.watched.emissions,
      target: withinFactor(sqljs.none.cpuMs, sqljs.watched.cpuMs),
    },
  );
  return rows;
}

export function watchNotes(watch: WatchResults): string[] {
  const { records, batch } = watch.sizes;
  return [
    'Each client runs in its own worker process and measures its own CPU (process.cpuUsage, user + system) from the ' +
      `start signal until it is done; the server's CPU comes from /proc. ${watch.built ? 'Workers load the built packages, as an app does. ' : 'WORKERS RAN THE SOURCES THROUGH TSX (not BENCH_SERVER=dist): its transform names every function it creates, which slows code that makes closures. '}${watch.sizes.runs === 1 ? 'One run of each.' : `Median (by CPU) of ${watch.sizes.runs} runs of each, the variants' runs interleaved; rates are the median of the runs' rates.`}`,
    `Watch: "with watch" is one watch of the whole repository (the filtered row: where done == false, orderBy title, ` +
      `limit ${FILTER_LIMIT}), subscribed before the start; its listener reads the emitted array (its length; the ` +
      'filtered one compares the ids with the final ones). A run is done once the watch shows the final state; ' +
      'emissions are counted after the start (the first, empty result is not).',
    `Local writes: a client without sync strategies on memory storage; one by one yields to the event loop every ` +
      `500 writes, as an app's handlers would; batched writes yield after each batch of ${n(batch)}.`,
    `Push: the writer (no watch) writes ${n(records)} records in batches of ${n(batch)} until the server acknowledged ` +
      'all and nothing is pending; a reader connected before the start is done when the last record is there (looked ' +
      'up every 10 ms) and its watch shows all. Our server: SQLite (WAL, fsync per commit). Yjs: one Y transaction per ' +
      "batch on one Y.Map of records, done at the server's echo of the last update; its server keeps everything in memory.",
    'Catch-up: a fresh client (memory storage; sql.js with a file persister) syncs the records of the no-watch push run; ' +
      'done at sync_complete and when the watch shows the final state. Yjs: a fresh Y.Doc, done when it holds every record.',
    "Yjs's watch is an observer of the map that counts the keys each update changed: Yjs at its cheapest (reading " +
      'map.size walks the whole map, and building an array of the records as our watch hands out would cost more).',
  ];
}

function format(value: number | undefined, unit: WatchRow['unit']): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 's':
      return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} s`;
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
    case 'records/s':
      return `${n(Math.round(value))}/s`;
  }
}

function ratio(value: number | undefined, baseline: number | undefined): string {
  if (value === undefined || baseline === undefined || !(baseline > 0)) return '';
  return `${(value / baseline).toFixed(2)}×`;
}

export function renderWatchTable(
  run: Pick<WatchOnlyResults, 'startedAt' | 'machine' | 'scale' | 'watch'>,
  rows: WatchRow[] = watchRows(run.watch),
): string {
  const header = [
    'measurement',
    'no watch',
    'with watch',
    '÷no watch',
    'Yjs',
    'with ÷Yjs',
    'emissions',
    'target',
    'met',
  ];
  const body = rows.map((row) => [
    row.label,
    format(row.none, row.unit),
    format(row.watched, row.unit),
    ratio(row.watched, row.none),
    format(row.yjs, row.unit),
    ratio(row.watched, row.yjs),
    row.emissions === undefined ? '' : n(row.emissions),
    row.target?.text ?? '',
    row.target ? (row.target.met ? 'met' : 'MISSED') : '',
  ]);
  const targets = rows.filter((row) => row.target);
  const met = targets.filter((row) => row.target!.met).length;
  const { machine, scale, watch } = run;
  return [
    `Watches and batched writes, ${run.startedAt}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ` +
      `${n(watch.sizes.records)} records${scale === 1 ? '' : ` (SCALED RUN, BENCH_SCALE=${scale})`}; ` +
      `group ${(watch.durationMs / 1000).toFixed(0)} s; ` +
      `targets met: ${met} of ${targets.length}`,
    '',
    ...tableLines(header, body, [1, 2, 3, 4, 5, 6]),
    '',
    ...watchNotes(watch).map((note) => `- ${note}`),
  ].join('\n');
}

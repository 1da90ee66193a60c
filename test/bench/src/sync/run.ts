/**
 * Runs every scenario in one go: the raw relay, then our server with all of ours, then the
 * Yjs server with all of the peer's. One server runs at a time, so each has the machine's two
 * cores to itself (with the clients).
 */
import { cpus, totalmem } from 'node:os';
import { postgresUnavailableReason, startPostgres } from '@local-first/test-services';
import type { BenchConfig } from './config.js';
import { OurServer, RelayServer, YjsServer } from './processes.js';
import { type LoadResults, onServer, runLoad } from './run-load.js';
import { type CatchUpReport, catchUp } from './scenarios/catchup.js';
import { type CommitResult, sqliteCommitLatency } from './scenarios/commit.js';
import { type FanOutResult, ourFanOut, yjsFanOut } from './scenarios/fanout.js';
import { type IdleResult, idleConnections } from './scenarios/idle.js';
import { type LatencyResult, ourLatency, relayLatency, yjsLatency } from './scenarios/latency.js';
import { type PeriodicResult, periodicSync } from './scenarios/periodic.js';
import { ourPush, type PushResult, yjsPush } from './scenarios/push.js';
import { type RelayThroughputResult, relayThroughput } from './scenarios/relay.js';
import { runWatch, type WatchResults } from './scenarios/watch.js';

/** Latency within one node and across nodes of one PostgreSQL deployment, when it can run. */
export type NodesResult =
  | { ran: true; sameNode: LatencyResult; acrossNodes: LatencyResult; nodes: number }
  | { ran: false; reason: string };

/** Several runs of one measurement and the run in the middle of them. */
export interface Runs<T> {
  runs: T[];
  median: T;
}

export interface BenchResults {
  startedAt: string;
  durationMs: number;
  scale: number;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string; platform: string };
  config: BenchConfig;
  relay: { latency: LatencyResult; throughput: Runs<RelayThroughputResult> };
  ours: {
    latencyWs: LatencyResult;
    /** The same with our server on its in-memory store: what durability (SQLite, fsync) costs. */
    latencyWsMemoryStore: LatencyResult;
    /** The same with SQLite commits on the event loop (`--sqlite-writer inline`). */
    latencyWsInline: LatencyResult;
    /** Our SQLite store alone committing one event at a time, paced like the latency writes. */
    sqliteCommit: CommitResult;
    latencySocketIo: LatencyResult;
    push: Runs<PushResult>;
    catchUpMemory: Runs<CatchUpReport>;
    catchUpSqlJs: Runs<CatchUpReport>;
    fanOut: FanOutResult;
    idle: IdleResult;
    /** Three nodes on one PostgreSQL: writer on node A, reader on A itself, then on node C. */
    nodes: NodesResult;
    /** Periodic clients over REST: latency at the default interval, idle traffic beside ws. */
    periodic: PeriodicResult;
  };
  yjs: {
    latency: LatencyResult;
    push: Runs<PushResult>;
    catchUp: Runs<CatchUpReport>;
    fanOut: FanOutResult;
    idle: IdleResult;
  };
  load: LoadResults;
  /** Watches and batched writes (the second table). */
  watch: WatchResults;
}

/** A run of the watch group alone (`BENCH_ONLY=watch`). */
export type WatchOnlyResults = Pick<
  BenchResults,
  'startedAt' | 'durationMs' | 'scale' | 'machine' | 'config' | 'watch'
>;

/** A run of the load group alone (`BENCH_ONLY=load`). */
export type LoadOnlyResults = Pick<
  BenchResults,
  'startedAt' | 'durationMs' | 'scale' | 'machine' | 'config' | 'load'
>;

/** Three server processes on one private PostgreSQL: ours over ws, writer on the first node. */
async function nodesLatency(config: BenchConfig): Promise<NodesResult> {
  const unavailable = postgresUnavailableReason();
  if (unavailable) return { ran: false, reason: unavailable };
  const postgres = await startPostgres();
  const servers: OurServer[] = [];
  try {
    for (let index = 0; index < NODES; index++)
      servers.push(await OurServer.start(postgres.connectionString as `postgres://${string}`));
    const [first, , last] = servers as [OurServer, OurServer, OurServer];
    const sameNode = await ourLatency(first, 'ws', config.nodesLatency);
    const acrossNodes = await ourLatency(first, 'ws', config.nodesLatency, last);
    return { ran: true, sameNode, acrossNodes, nodes: NODES };
  } finally {
    for (const server of servers) await server.stop();
    await postgres.stop();
  }
}

const NODES = 3;

function median<T>(runs: T[], key: (run: T) => number): Runs<T> {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return { runs, median: sorted[Math.floor((sorted.length - 1) / 2)]! };
}

async function repeat<T>(times: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let index = 0; index < times; index++) results.push(await run(index));
  return results;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

interface RunOptions {
  scale?: number;
  log?: (line: string) => void;
}

/** Runs one named part of the benchmark, logging its name and how long it took. */
function stepper(options: RunOptions) {
  const log = options.log ?? (() => undefined);
  return async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    collectGarbage();
    const start = performance.now();
    log(`… ${name}`);
    const result = await work();
    log(`  ${name}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
    return result;
  };
}

function machine(): BenchResults['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** One group run alone, with the run's header (time, machine, configuration). */
async function alone<T>(
  config: BenchConfig,
  options: RunOptions,
  group: (step: ReturnType<typeof stepper>) => Promise<T>,
) {
  const began = performance.now();
  const startedAt = new Date().toISOString();
  const result = await group(stepper(options));
  const header = {
    startedAt,
    durationMs: performance.now() - began,
    scale: options.scale ?? 1,
    machine: machine(),
    config,
  };
  return { header, result };
}

/** The watch group alone: `BENCH_ONLY=watch`. */
export async function runWatchOnly(
  config: BenchConfig,
  options: RunOptions = {},
): Promise<WatchOnlyResults> {
  const { header, result } = await alone(config, options, (step) => runWatch(config.watch, step));
  return { ...header, watch: result };
}

/** The load group alone: `BENCH_ONLY=load`. */
export async function runLoadOnly(
  config: BenchConfig,
  options: RunOptions = {},
): Promise<LoadOnlyResults> {
  const { header, result } = await alone(config, options, (step) => runLoad(config, step));
  return { ...header, load: result };
}

export async function runBenchmark(
  config: BenchConfig,
  options: RunOptions = {},
): Promise<BenchResults> {
  const began = performance.now();
  const startedAt = new Date().toISOString();
  const step = stepper(options);
  const runNames = Array.from({ length: config.runs }, (_, index) => `records_${index + 1}`);

  const relayServer = await RelayServer.start();
  let relay: BenchResults['relay'];
  try {
    relay = {
      latency: await step('relay latency', () => relayLatency(relayServer, config.latency)),
      throughput: median(
        await step('relay throughput', () =>
          repeat(config.runs, () => relayThroughput(relayServer, config.relayFrames)),
        ),
        (run) => run.messagesPerSecond,
      ),
    };
  } finally {
    await relayServer.stop();
  }

  const sqliteCommit = await step('ours SQLite commit alone', () =>
    sqliteCommitLatency(config.latency),
  );

  const memoryStoreServer = await OurServer.start('memory');
  const latencyWsMemoryStore = await onServer(memoryStoreServer, () =>
    step('ours latency ws, in-memory server store', () =>
      ourLatency(memoryStoreServer, 'ws', config.latency),
    ),
  );
  const inlineServer = await OurServer.start('sqlite', ['--sqlite-writer', 'inline']);
  const latencyWsInline = await onServer(inlineServer, () =>
    step('ours latency ws, SQLite commits on the event loop', () =>
      ourLatency(inlineServer, 'ws', config.latency),
    ),
  );

  const ourServer = await OurServer.start();
  let ours: BenchResults['ours'];
  try {
    const latencyWs = await step('ours latency ws', () =>
      ourLatency(ourServer, 'ws', config.latency),
    );
    const latencySocketIo = await step('ours latency socket.io', () =>
      ourLatency(ourServer, 'socketio', config.latency),
    );
    // Fan-out and idle memory run before the bulk writes: a burst of 300,000 commits leaves
    // the disk busy writing back for a while, which shows up as commit stalls (see notes).
    const fanOut = await step('ours fan-out', () => ourFanOut(ourServer, config.fanOut));
    const idle = await step('ours idle connections', () =>
      idleConnections(ourServer.child, 'idle-ours', ourServer.wsUrl, config.idleConnections),
    );
    const periodic = await step('ours periodic (REST) latency and idle traffic', () =>
      periodicSync(ourServer, config.periodic),
    );
    const push = await step('ours push', () =>
      repeat(config.runs, (index) => ourPush(ourServer, config.pushRecords, runNames[index]!)),
    );
    const catchUpRuns = (storage: 'memory' | 'sqljs') =>
      repeat(config.runs, (index) =>
        catchUp(ourServer.child, 'catchup-ours', {
          url: ourServer.origin,
          name: runNames[index]!,
          expected: config.pushRecords,
          storage,
        }),
      );
    const catchUpMemory = await step('ours catch-up memory', () => catchUpRuns('memory'));
    const catchUpSqlJs = await step('ours catch-up sql.js', () => catchUpRuns('sqljs'));
    ours = {
      latencyWs,
      latencyWsMemoryStore,
      latencyWsInline,
      sqliteCommit,
      latencySocketIo,
      push: median(push, (run) => run.eventsPerSecond),
      catchUpMemory: median(catchUpMemory, (run) => run.eventsPerSecond),
      catchUpSqlJs: median(catchUpSqlJs, (run) => run.eventsPerSecond),
      fanOut,
      idle,
      nodes: { ran: false, reason: 'not run yet' },
      periodic,
    };
  } finally {
    await ourServer.stop();
  }

  const nodes = await step('ours latency across nodes on PostgreSQL', () => nodesLatency(config));
  ours.nodes = nodes;

  const yjsServer = await YjsServer.start();
  let yjs: BenchResults['yjs'];
  try {
    const latency = await step('yjs latency', () => yjsLatency(yjsServer, config.latency));
    const fanOut = await step('yjs fan-out', () => yjsFanOut(yjsServer, config.fanOut));
    const idle = await step('yjs idle connections', () =>
      idleConnections(yjsServer.child, 'idle-yjs', yjsServer.url, config.idleConnections),
    );
    const push = await step('yjs push', () =>
      repeat(config.runs, (index) => yjsPush(yjsServer, config.pushRecords, runNames[index]!)),
    );
    const catchUpRuns = await step('yjs catch-up', () =>
      repeat(config.runs, (index) =>
        catchUp(yjsServer.child, 'catchup-yjs', {
          url: yjsServer.url,
          name: runNames[index]!,
          expected: config.pushRecords,
        }),
      ),
    );
    yjs = {
      latency,
      push: median(push, (run) => run.eventsPerSecond),
      catchUp: median(catchUpRuns, (run) => run.eventsPerSecond),
      fanOut,
      idle,
    };
  } finally {
    await yjsServer.stop();
  }

  const load = await runLoad(config, step);
  const watch = await runWatch(config.watch, step);

  return {
    startedAt,
    durationMs: performance.now() - began,
    scale: options.scale ?? 1,
    machine: machine(),
    config,
    relay,
    ours,
    yjs,
    load,
    watch,
  };
}

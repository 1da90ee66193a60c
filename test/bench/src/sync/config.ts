/** How big each scenario is: the full run of `pnpm bench`, and a tiny one for the smoke test. */
import { DEFAULT_PUSH_DELAY_MS, DEFAULT_SYNC_INTERVAL_MS } from '@local-first/periodic';
import type { BrowserSizes } from '../browser/run-browser.js';
import type { FanOutSizes } from './scenarios/fanout.js';
import type { LatencySizes } from './scenarios/latency.js';
import type { LoadSizes } from './scenarios/load.js';
import type { PeriodicSizes } from './scenarios/periodic.js';
import type { WatchSizes } from './scenarios/watch.js';

export interface BenchConfig {
  /** Sequential writes for latency (ours over ws and socket.io, Yjs, the relay). */
  latency: LatencySizes;
  /** Frames sent back to back through the relay, per run. */
  relayFrames: number;
  /** Records one client writes, per run; each run's records are then caught up by fresh clients. */
  pushRecords: number;
  /** Push and catch-up runs; the median run is reported, and the largest memory. */
  runs: number;
  fanOut: FanOutSizes;
  /** Idle authenticated connections for the memory-per-connection figure. */
  idleConnections: number;
  /** Sequential writes for the latency across nodes on one PostgreSQL (and on one node of it). */
  nodesLatency: LatencySizes;
  /** Concurrent writers, a slow reader, many connections. */
  load: LoadSizes;
  /** Periodic clients: write → other clients' latency, and idle traffic beside a WebSocket client. */
  periodic: PeriodicSizes;
  /** Watches and batched writes: records of each run, records per batch, runs of each. */
  watch: WatchSizes;
  /** Real Chromium: catch-up sizes, local writes, changes per tab before a handover. */
  browser: BrowserSizes;
}

export const FULL_CONFIG: BenchConfig = {
  latency: { warmup: 200, writes: 2_000 },
  relayFrames: 100_000,
  pushRecords: 100_000,
  runs: 3,
  fanOut: { clients: 500, processes: 2, warmup: 20, events: 50 },
  idleConnections: 2_000,
  nodesLatency: { warmup: 100, writes: 1_000 },
  load: {
    writers: 100,
    writersDurationMs: 10_000,
    slowReaderEvents: 100_000,
    payloadBytes: 1_000,
    connections: 10_000,
    holdMs: 60_000,
    fanOutEvents: 20,
  },
  // The strategy's defaults: the figures are what an app that changes nothing gets.
  periodic: {
    intervalMs: DEFAULT_SYNC_INTERVAL_MS,
    pushDelayMs: DEFAULT_PUSH_DELAY_MS,
    readers: 20,
    writes: 6,
    idleMs: 60_000,
  },
  watch: { records: 100_000, batch: 1_000, runs: 3 },
  browser: { catchUp: [10_000, 100_000], localWrites: 10_000, handoverChanges: 200 },
};

/** Proves the harness works end to end in a few seconds; its figures mean nothing. */
export const SMOKE_CONFIG: BenchConfig = {
  latency: { warmup: 2, writes: 20 },
  relayFrames: 200,
  pushRecords: 300,
  runs: 1,
  fanOut: { clients: 6, processes: 2, warmup: 1, events: 3 },
  idleConnections: 10,
  nodesLatency: { warmup: 2, writes: 20 },
  load: {
    writers: 4,
    writersDurationMs: 300,
    slowReaderEvents: 300,
    payloadBytes: 100,
    connections: 10,
    holdMs: 200,
    fanOutEvents: 3,
  },
  periodic: { intervalMs: 100, pushDelayMs: 10, readers: 3, writes: 2, idleMs: 300 },
  watch: { records: 300, batch: 100, runs: 1 },
  browser: { catchUp: [200], localWrites: 50, handoverChanges: 10 },
};

/**
 * The full configuration, scaled down by `BENCH_SCALE` (a number in (0, 1], e.g. 0.1) for a
 * quick look; the report says when it ran scaled.
 */
export function configFromEnvironment(environment = process.env): {
  config: BenchConfig;
  scale: number;
} {
  const scale = Number(environment.BENCH_SCALE ?? 1);
  if (!(scale > 0 && scale <= 1))
    throw new Error(`BENCH_SCALE "${environment.BENCH_SCALE}" is not in (0, 1]`);
  if (scale === 1) return { config: FULL_CONFIG, scale };
  const scaled = (value: number, least: number) => Math.max(least, Math.round(value * scale));
  return {
    scale,
    config: {
      latency: {
        warmup: scaled(FULL_CONFIG.latency.warmup, 2),
        writes: scaled(FULL_CONFIG.latency.writes, 20),
      },
      relayFrames: scaled(FULL_CONFIG.relayFrames, 100),
      pushRecords: scaled(FULL_CONFIG.pushRecords, 100),
      runs: FULL_CONFIG.runs,
      fanOut: {
        ...FULL_CONFIG.fanOut,
        clients: scaled(FULL_CONFIG.fanOut.clients, 4),
        events: scaled(FULL_CONFIG.fanOut.events, 3),
      },
      idleConnections: scaled(FULL_CONFIG.idleConnections, 10),
      nodesLatency: {
        warmup: scaled(FULL_CONFIG.nodesLatency.warmup, 2),
        writes: scaled(FULL_CONFIG.nodesLatency.writes, 20),
      },
      load: {
        ...FULL_CONFIG.load,
        writers: scaled(FULL_CONFIG.load.writers, 4),
        writersDurationMs: scaled(FULL_CONFIG.load.writersDurationMs, 1_000),
        slowReaderEvents: scaled(FULL_CONFIG.load.slowReaderEvents, 300),
        connections: scaled(FULL_CONFIG.load.connections, 10),
        holdMs: scaled(FULL_CONFIG.load.holdMs, 1_000),
      },
      // Intervals stay the defaults; fewer samples.
      periodic: {
        ...FULL_CONFIG.periodic,
        readers: scaled(FULL_CONFIG.periodic.readers, 4),
        writes: scaled(FULL_CONFIG.periodic.writes, 2),
        idleMs: scaled(FULL_CONFIG.periodic.idleMs, 20_000),
      },
      // Batches stay 1,000 records; fewer of them.
      watch: { ...FULL_CONFIG.watch, records: scaled(FULL_CONFIG.watch.records, 1_000) },
      browser: {
        catchUp: FULL_CONFIG.browser.catchUp.map((records) => scaled(records, 200)),
        localWrites: scaled(FULL_CONFIG.browser.localWrites, 50),
        handoverChanges: scaled(FULL_CONFIG.browser.handoverChanges, 10),
      },
    },
  };
}

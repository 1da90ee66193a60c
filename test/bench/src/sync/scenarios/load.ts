/**
 * The server under load: many concurrent writers each waiting for its ack, a reader that stops
 * reading while 100,000 events are broadcast, and many idle connections held with heartbeats,
 * then a fan-out to all of them.
 */
import { CpuWatch, MemoryWatch } from '../proc.js';
import {
  type Child,
  closeWorker,
  type OurServer,
  startWorker,
  type YjsServer,
} from '../processes.js';
import { type Distribution, sleep, yieldToEventLoop } from '../stats.js';
import { connectYjsDevice } from '../workload.js';
import { type FanOutResult, ourFanOut, yjsFanOut } from './fanout.js';
import { settled } from './idle.js';

export interface LoadSizes {
  /** Concurrent writers, each with one push in flight. */
  writers: number;
  writersDurationMs: number;
  /** Events broadcast while one reader does not read. */
  slowReaderEvents: number;
  payloadBytes: number;
  /** Idle authenticated connections held with heartbeats, then fanned out to. */
  connections: number;
  holdMs: number;
  fanOutEvents: number;
}

export interface WritersResult {
  writers: number;
  acked: number;
  failed: number;
  eventsPerSecond: number;
  latencyMs: Distribution;
}

/** `writers` raw connections, each pushing one event and awaiting its ack, for a while. */
export async function concurrentWriters(
  server: OurServer,
  sizes: LoadSizes,
  repository: string,
): Promise<WritersResult> {
  const worker = startWorker('writers-ours', {
    url: server.wsUrl,
    name: repository,
    writers: sizes.writers,
    durationMs: sizes.writersDurationMs,
    payloadBytes: sizes.payloadBytes,
  });
  try {
    await worker.next('ready', 120_000);
    worker.send({ type: 'go' });
    const result = await worker.next<{
      type: string;
      acked: number;
      failed: number;
      elapsedMs: number;
      latencyMs: Distribution;
    }>('result', sizes.writersDurationMs + 120_000);
    return {
      writers: sizes.writers,
      acked: result.acked,
      failed: result.failed,
      eventsPerSecond: result.acked / (result.elapsedMs / 1000),
      latencyMs: result.latencyMs,
    };
  } finally {
    await closeWorker(worker);
  }
}

export interface SlowReaderResult {
  events: number;
  payloadBytes: number;
  /** Server resident set after a collection, before the reader and the writes, bytes. */
  baseRss: number;
  /** Largest server resident set while the events were written and broadcast, bytes. */
  peakRss: number;
  growthBytes: number;
  /** Events the reader has once it reads again (catching up from its cursor, for ours). */
  readerHas: number;
  /** Ours: `lagging` notices and 4413 closes the reader got. Yjs: whether it was closed. */
  lagging?: number;
  cuts?: number;
  closed?: boolean;
  writeMs: number;
  catchUpMs: number;
}

async function slowReader(
  server: Child,
  role: 'slow-reader-ours' | 'slow-reader-yjs',
  url: string,
  sizes: LoadSizes,
  write: () => Promise<void>,
): Promise<SlowReaderResult> {
  const base = await settled(server);
  const reader = startWorker(role, { url, name: 'slow', expected: sizes.slowReaderEvents });
  try {
    await reader.next('ready', 60_000);
    const watch = new MemoryWatch(server.pid, 50);
    const began = performance.now();
    await write();
    const writeMs = performance.now() - began;
    // Whatever the server still queues for the reader stays queued while it does not read.
    await sleep(2_000);
    const { peakRss } = watch.stop();
    reader.send({ type: 'resume' });
    const result = await reader.next<{
      type: string;
      count: number;
      lagging?: number;
      cuts?: number;
      closed?: boolean;
      catchUpMs: number;
    }>('result', 300_000);
    return {
      events: sizes.slowReaderEvents,
      payloadBytes: sizes.payloadBytes,
      baseRss: base.rss,
      peakRss,
      growthBytes: peakRss - base.rss,
      readerHas: result.count,
      ...(result.lagging !== undefined ? { lagging: result.lagging } : {}),
      ...(result.cuts !== undefined ? { cuts: result.cuts } : {}),
      ...(result.closed !== undefined ? { closed: result.closed } : {}),
      writeMs,
      catchUpMs: result.catchUpMs,
    };
  } finally {
    await closeWorker(reader);
  }
}

/** Ours: a raw writer pushes batches of 100 (four in flight) while the reader does not read. */
export function ourSlowReader(server: OurServer, sizes: LoadSizes): Promise<SlowReaderResult> {
  return slowReader(server.child, 'slow-reader-ours', server.wsUrl, sizes, async () => {
    const writer = startWorker('bulk-ours', {
      url: server.wsUrl,
      name: 'slow',
      events: sizes.slowReaderEvents,
      batch: 100,
      inFlight: 4,
      payloadBytes: sizes.payloadBytes,
    });
    try {
      await writer.next('ready', 60_000);
      writer.send({ type: 'go' });
      await writer.next('result', 600_000);
    } finally {
      await closeWorker(writer);
    }
  });
}

/** Yjs: a y-websocket client sets one map entry per event (the server keeps the document). */
export function yjsSlowReader(server: YjsServer, sizes: LoadSizes): Promise<SlowReaderResult> {
  return slowReader(server.child, 'slow-reader-yjs', server.url, sizes, async () => {
    const writer = await connectYjsDevice(server.url, 'slow');
    try {
      const payload = 'x'.repeat(sizes.payloadBytes);
      for (let index = 0; index < sizes.slowReaderEvents; index++) {
        writer.map.set(`e${index}`, { id: `e${index}`, payload } as never);
        if (index % 500 === 499) await yieldToEventLoop();
      }
      // No acks in y-websocket: done once the writer's socket has sent everything.
      const ws = writer.provider.ws as unknown as { bufferedAmount: number } | null;
      while ((ws?.bufferedAmount ?? 0) > 0) await sleep(10);
    } finally {
      writer.dispose();
    }
  });
}

export interface ConnectionsResult {
  connections: number;
  rssPerConnection: number;
  heapPerConnection: number;
  holdMs: number;
  /** Server CPU while the connections were held idle (heartbeats only), % of one core. */
  heartbeatCpuPercent: number;
  fanOut: FanOutResult;
}

async function manyConnections(
  server: Child,
  sizes: LoadSizes,
  fanOut: (whenOpen: () => Promise<void>) => Promise<FanOutResult>,
): Promise<ConnectionsResult> {
  const before = await settled(server);
  let rssPerConnection = Number.NaN;
  let heapPerConnection = Number.NaN;
  let heartbeatCpuPercent = Number.NaN;
  const result = await fanOut(async () => {
    const after = await settled(server);
    rssPerConnection = (after.rss - before.rss) / sizes.connections;
    heapPerConnection = (after.heapUsed - before.heapUsed) / sizes.connections;
    const cpu = new CpuWatch(server.pid);
    await sleep(sizes.holdMs);
    heartbeatCpuPercent = (cpu.stop() / sizes.holdMs) * 100;
  });
  return {
    connections: result.clients,
    rssPerConnection,
    heapPerConnection,
    holdMs: sizes.holdMs,
    heartbeatCpuPercent,
    fanOut: result,
  };
}

const fanOutSizes = (sizes: LoadSizes) => ({
  clients: sizes.connections,
  processes: 2,
  warmup: 2,
  events: sizes.fanOutEvents,
});

export function ourConnections(server: OurServer, sizes: LoadSizes): Promise<ConnectionsResult> {
  return manyConnections(server.child, sizes, (whenOpen) =>
    ourFanOut(server, fanOutSizes(sizes), whenOpen),
  );
}

export function yjsConnections(server: YjsServer, sizes: LoadSizes): Promise<ConnectionsResult> {
  return manyConnections(server.child, sizes, (whenOpen) =>
    yjsFanOut(server, fanOutSizes(sizes), whenOpen),
  );
}

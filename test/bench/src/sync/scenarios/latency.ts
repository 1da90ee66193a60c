/**
 * End-to-end latency: one client writes a record, another client's live view shows it. Writes
 * are sequential (the next one starts when the previous one arrived) and paced: one starts at
 * most every `PACE_MS`, so no connection sends more than the server's default rate limit
 * (500 messages per second per connection, after a burst of 1,000). The same pacing applies to
 * the Yjs peer and to the raw relay.
 */
import type { SyncActivity } from '@local-first/websocket';
import type WebSocket from 'ws';
import { type CostReport, withCost } from '../measure.js';
import type { Child, OurServer, RelayServer, YjsServer } from '../processes.js';
import { type Distribution, distribution, sleep, within } from '../stats.js';
import {
  closeSockets,
  connectOurDevice,
  connectYjsDevice,
  makeRecord,
  type TransportKind,
} from '../workload.js';
import { openRelaySocket, relayMessage } from './relay.js';

/** Shortest time between the starts of two writes, ms. */
export const PACE_MS = 2.5;
/** A write that has not arrived after this long fails the run. */
const ARRIVAL_TIMEOUT_MS = 10_000;

export interface LatencyResult {
  writes: number;
  latencyMs: Distribution;
  cost: CostReport;
}

export interface LatencySizes {
  warmup: number;
  writes: number;
}

/** Runs `once` for the warm-up, then measures `writes` of them, paced. */
async function sequential(
  server: Child,
  sizes: LatencySizes,
  once: (index: number) => Promise<number>,
): Promise<LatencyResult> {
  const samples: number[] = [];
  const paced = async (index: number): Promise<number> => {
    const started = performance.now();
    const latency = await once(index);
    const wait = PACE_MS - (performance.now() - started);
    if (wait > 0) await sleep(wait);
    return latency;
  };
  for (let index = 0; index < sizes.warmup; index++) await paced(index);
  const { cost } = await withCost(server, async () => {
    for (let index = 0; index < sizes.writes; index++)
      samples.push(await paced(sizes.warmup + index));
  });
  return { writes: sizes.writes, latencyMs: distribution(samples), cost };
}

/**
 * Ours: A `upsert` → B's `watch` of that record fires; memory storage on both. With
 * `readerServer`, B is connected to another node of the same deployment than A.
 */
export async function ourLatency(
  server: OurServer,
  transport: TransportKind,
  sizes: LatencySizes,
  readerServer: OurServer = server,
): Promise<LatencyResult> {
  const repository = `latency_${transport}${readerServer === server ? '' : '_nodes'}`;
  const writer = await connectOurDevice({ origin: server.origin, transport, repository });
  const reader = await connectOurDevice({ origin: readerServer.origin, transport, repository });
  const errors: string[] = [];
  const onActivity = (activity: SyncActivity) => {
    if (activity.type === 'server_error' || activity.type === 'rejected')
      errors.push(JSON.stringify(activity));
  };
  const stops = [
    writer.strategy.activityChanges.subscribe(onActivity),
    reader.strategy.activityChanges.subscribe(onActivity),
  ];
  try {
    const once = async (index: number): Promise<number> => {
      const record = makeRecord(repository, index);
      let stop: (() => void) | undefined;
      let ready: (() => void) | undefined;
      let arrived!: () => void;
      const watching = new Promise<void>((resolve) => {
        ready = resolve;
      });
      const seen = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      stop = reader.repository
        .query()
        .where('id', '==', record.id)
        .watch()
        .subscribe((items) => {
          ready?.();
          ready = undefined;
          if (items.length > 0) {
            stop?.();
            arrived();
          }
        });
      // The watch's first run (an empty result) is done before the clock starts.
      await watching;
      const start = performance.now();
      await writer.repository.upsert(record);
      await within(seen, ARRIVAL_TIMEOUT_MS, `${repository} write ${index} ${errors.join('; ')}`);
      return performance.now() - start;
    };
    const result = await sequential(server.child, sizes, once);
    if (errors.length > 0)
      throw new Error(`${repository}: the server answered ${errors.join('; ')}`);
    const count = (await reader.repository.query().get()).length;
    if (count !== sizes.warmup + sizes.writes)
      throw new Error(`${repository}: the reader holds ${count} records`);
    return result;
  } finally {
    for (const stop of stops) stop();
    await writer.dispose();
    await reader.dispose();
  }
}

/** Yjs: A `map.set` → B's `map.observe` sees the key. */
export async function yjsLatency(server: YjsServer, sizes: LatencySizes): Promise<LatencyResult> {
  const writer = await connectYjsDevice(server.url, 'latency');
  const reader = await connectYjsDevice(server.url, 'latency');
  let waiting: { id: string; arrived: () => void } | undefined;
  reader.map.observe((event) => {
    if (waiting && event.keysChanged.has(waiting.id)) waiting.arrived();
  });
  try {
    const result = await sequential(server.child, sizes, async (index) => {
      const record = makeRecord('latency', index);
      const seen = new Promise<void>((resolve) => {
        waiting = { id: record.id, arrived: resolve };
      });
      const start = performance.now();
      writer.map.set(record.id, record);
      await within(seen, ARRIVAL_TIMEOUT_MS, `yjs latency write ${index}`);
      return performance.now() - start;
    });
    if (reader.map.size !== sizes.warmup + sizes.writes)
      throw new Error(`yjs latency: the reader holds ${reader.map.size} records`);
    return result;
  } finally {
    writer.dispose();
    reader.dispose();
  }
}

/** The baseline: A sends one event-sized JSON frame, the relay forwards it, B parses it. */
export async function relayLatency(
  relay: RelayServer,
  sizes: LatencySizes,
): Promise<LatencyResult> {
  let waiting: (() => void) | undefined;
  let received = 0;
  const sender = await openRelaySocket(relay.url, () => undefined);
  const receiver = await openRelaySocket(relay.url, (data) => {
    JSON.parse(data);
    received++;
    waiting?.();
  });
  const sockets: WebSocket[] = [sender, receiver];
  try {
    const result = await sequential(relay.child, sizes, async (index) => {
      const frame = relayMessage(index);
      const seen = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      const start = performance.now();
      sender.send(frame);
      await within(seen, ARRIVAL_TIMEOUT_MS, `relay frame ${index}`);
      return performance.now() - start;
    });
    if (received !== sizes.warmup + sizes.writes)
      throw new Error(`relay latency: the receiver got ${received} frames`);
    return result;
  } finally {
    await closeSockets(sockets);
  }
}

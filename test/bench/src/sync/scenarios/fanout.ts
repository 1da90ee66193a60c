/**
 * Fan-out: one writer, many subscribed connections spread over worker processes; the time
 * until every one of them has each event.
 */
import { closeWorker, type OurServer, startWorker, type YjsServer } from '../processes.js';
import { type Distribution, distribution, sharedNow, sleep } from '../stats.js';
import type { Delivered } from '../worker.js';
import { connectOurDevice, connectYjsDevice, makeRecord } from '../workload.js';

export interface FanOutSizes {
  clients: number;
  processes: number;
  warmup: number;
  events: number;
}

export interface FanOutResult {
  clients: number;
  events: number;
  /** Per event: from the write to the moment the last subscriber has it, ms. */
  allReceivedMs: Distribution;
  /** Per event and subscriber: from the write to its arrival, ms. */
  deliveryMs: Distribution;
  /** Per event, in order: the time until all had it, and until the writer's write returned, ms. */
  perEvent: { allReceivedMs: number; writeMs: number }[];
}

/** Pause between events, so each one is measured alone. */
const GAP_MS = 20;

async function fanOut(
  role: 'fanout-ours' | 'fanout-yjs',
  url: string,
  name: string,
  sizes: FanOutSizes,
  write: (index: number) => Promise<void>,
  whenOpen?: () => Promise<void>,
): Promise<FanOutResult> {
  const shares = Array.from({ length: sizes.processes }, (_, index) =>
    Math.floor((sizes.clients + index) / sizes.processes),
  ).filter((share) => share > 0);
  const workers = shares.map((connections) => startWorker(role, { url, name, connections }));
  try {
    await Promise.all(workers.map((worker) => worker.next('ready', 300_000)));
    await whenOpen?.();
    const allReceived: number[] = [];
    const deliveries: number[] = [];
    const perEvent: FanOutResult['perEvent'] = [];
    for (let index = 0; index < sizes.warmup + sizes.events; index++) {
      const arrived = Promise.all(
        workers.map((worker) => worker.next<Delivered>('delivered', 60_000)),
      );
      const start = sharedNow();
      await write(index);
      const writeMs = sharedNow() - start;
      const reports = await arrived;
      if (index < sizes.warmup) continue;
      const times = reports.flatMap((report) => report.times);
      allReceived.push(Math.max(...times) - start);
      perEvent.push({ allReceivedMs: Math.max(...times) - start, writeMs });
      for (const time of times) deliveries.push(time - start);
      await sleep(GAP_MS);
    }
    return {
      clients: shares.reduce((total, share) => total + share, 0),
      events: sizes.events,
      allReceivedMs: distribution(allReceived),
      deliveryMs: distribution(deliveries),
      perEvent,
    };
  } finally {
    await Promise.all(workers.map((worker) => closeWorker(worker)));
  }
}

/** Ours: raw authenticated protocol connections listen; a real client writes. */
export async function ourFanOut(
  server: OurServer,
  sizes: FanOutSizes,
  whenOpen?: () => Promise<void>,
): Promise<FanOutResult> {
  const writer = await connectOurDevice({
    origin: server.origin,
    transport: 'ws',
    repository: 'fanout',
  });
  try {
    return await fanOut(
      'fanout-ours',
      server.wsUrl,
      'fanout',
      sizes,
      async (index) => {
        await writer.repository.upsert(makeRecord('fanout', index));
      },
      whenOpen,
    );
  } finally {
    await writer.dispose();
  }
}

/** Yjs: raw WebSocket connections to the room listen; a y-websocket client writes. */
export async function yjsFanOut(
  server: YjsServer,
  sizes: FanOutSizes,
  whenOpen?: () => Promise<void>,
): Promise<FanOutResult> {
  const writer = await connectYjsDevice(server.url, 'fanout');
  try {
    return await fanOut(
      'fanout-yjs',
      server.url,
      'fanout',
      sizes,
      async (index) => {
        const record = makeRecord('fanout', index);
        writer.map.set(record.id, record);
      },
      whenOpen,
    );
  } finally {
    writer.dispose();
  }
}

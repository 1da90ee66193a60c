/**
 * Push throughput: one connected client writes records as fast as it can, each record its own
 * write, until the server has acknowledged the last one.
 */
import type { SyncActivity } from '@local-first/websocket';
import { type CostReport, withCost } from '../measure.js';
import type { OurServer, YjsServer } from '../processes.js';
import { yieldToEventLoop } from '../stats.js';
import { connectOurDevice, connectYjsDevice, isYjsUpdateFrame, makeRecord } from '../workload.js';

/** Writers let the event loop run this often, as writes coming from an app's handlers would. */
export const WRITES_BETWEEN_YIELDS = 500;

export interface PushResult {
  records: number;
  eventsPerSecond: number;
  /** Time until the last local write returned, ms. */
  writesDoneMs: number;
  cost: CostReport;
}

/**
 * Ours: `upsert` one record at a time (the strategy batches on the wire), then wait until
 * `getPendingEvents()` is empty, checked when `pendingChanges` (or an acknowledgement) fires.
 * The pending list is read only once every event has been acknowledged: reading it copies
 * every pending event, so reading it on each of the hundreds of acks would cost more than the
 * sync itself (see the report's notes).
 */
export async function ourPush(
  server: OurServer,
  records: number,
  repository: string,
): Promise<PushResult> {
  const device = await connectOurDevice({ origin: server.origin, transport: 'ws', repository });
  const errors: string[] = [];
  let acknowledged = 0;
  let written = false;
  let drained!: () => void;
  const empty = new Promise<void>((resolve) => {
    drained = resolve;
  });
  let checking = false;
  let again = false;
  const check = async (): Promise<void> => {
    if (!written || acknowledged < records) return;
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        if ((await device.client.getPendingEvents()).length === 0) return drained();
      } while (again);
    } finally {
      checking = false;
    }
  };
  const stopPending = device.client.pendingChanges.subscribe(() => void check());
  const stopActivity = device.strategy.activityChanges.subscribe((activity: SyncActivity) => {
    if (activity.type === 'acknowledged') acknowledged += activity.eventIds.length;
    if (activity.type === 'server_error' || activity.type === 'rejected')
      errors.push(JSON.stringify(activity));
    void check();
  });
  try {
    let writesDoneMs = 0;
    const { cost } = await withCost(server.child, async () => {
      const start = performance.now();
      for (let index = 0; index < records; index++) {
        await device.repository.upsert(makeRecord('record', index));
        if (index % WRITES_BETWEEN_YIELDS === WRITES_BETWEEN_YIELDS - 1) await yieldToEventLoop();
      }
      writesDoneMs = performance.now() - start;
      written = true;
      await check();
      await empty;
    });
    if (errors.length > 0) throw new Error(`push: the server answered ${errors.join('; ')}`);
    return { records, eventsPerSecond: records / (cost.wallMs / 1000), writesDoneMs, cost };
  } finally {
    stopPending();
    stopActivity();
    await device.dispose();
  }
}

/**
 * Yjs: one `set` per record on a Y.Map, each its own update. Yjs has no acknowledgement; the
 * server sends every update it applied to every connection of the room, the writer's too, so
 * the echo of the last update is the moment the server holds everything.
 */
export async function yjsPush(
  server: YjsServer,
  records: number,
  room: string,
): Promise<PushResult> {
  const device = await connectYjsDevice(server.url, room);
  let echoed = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  device.provider.ws!.addEventListener('message', (event: MessageEvent) => {
    if (isYjsUpdateFrame(new Uint8Array(event.data as ArrayBuffer)) && ++echoed === records) done();
  });
  try {
    let writesDoneMs = 0;
    const { cost } = await withCost(server.child, async () => {
      const start = performance.now();
      for (let index = 0; index < records; index++) {
        const record = makeRecord('record', index);
        device.map.set(record.id, record);
        if (index % WRITES_BETWEEN_YIELDS === WRITES_BETWEEN_YIELDS - 1) await yieldToEventLoop();
      }
      writesDoneMs = performance.now() - start;
      await all;
    });
    if (device.map.size !== records) throw new Error(`yjs push: the map holds ${device.map.size}`);
    return { records, eventsPerSecond: records / (cost.wallMs / 1000), writesDoneMs, cost };
  } finally {
    device.dispose();
  }
}

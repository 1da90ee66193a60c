/**
 * The Yjs peer's roles of the watch scenarios (see watch-roles.ts): one Y.Map of records, one Y
 * transaction per batch, and an observer of the map as its watch.
 *
 * - `watch-writer-yjs`: writes the records in transactions, done at the server's echo of the
 *   last update (Yjs has no acknowledgement).
 * - `watch-reader-yjs`: a live document beside the writer, done when it holds every record.
 * - `watch-catchup-yjs`: a new document that connects at `go` and syncs what the room holds.
 */
import type * as Y from 'yjs';
import { yieldToEventLoop } from './stats.js';
import {
  measured,
  PREFIX,
  ready,
  type Send,
  type WatchRole,
  type WatchRoleParameters,
  type WatchRoleResult,
} from './watch-roles.js';
import { type BenchRecord, connectYjsDevice, isYjsUpdateFrame, makeRecord } from './workload.js';

export const YJS_WATCH_ROLES: Record<string, WatchRole> = {
  'watch-writer-yjs': (parameters, send) => writerYjs(parameters as WatchRoleParameters, send),
  'watch-reader-yjs': (parameters, send) =>
    readerYjs(parameters as WatchRoleParameters, send, false),
  'watch-catchup-yjs': (parameters, send) =>
    readerYjs(parameters as WatchRoleParameters, send, true),
};

async function writerYjs(options: WatchRoleParameters, send: Send) {
  const device = await connectYjsDevice(options.url!, options.name);
  const transactions = Math.ceil(options.records / options.batch);
  let echoed = 0;
  let allEchoed!: () => void;
  const echoes = new Promise<void>((resolve) => {
    allEchoed = resolve;
  });
  // No acknowledgement in Yjs: the server's echo of the last update means it holds them all.
  device.provider.ws!.addEventListener('message', (event: MessageEvent) => {
    if (isYjsUpdateFrame(new Uint8Array(event.data as ArrayBuffer)) && ++echoed === transactions)
      allEchoed();
  });
  await ready(send);
  const cost = await measured(async () => {
    const start = performance.now();
    for (let first = 0; first < options.records; first += options.batch) {
      const end = Math.min(options.records, first + options.batch);
      device.doc.transact(() => {
        for (let index = first; index < end; index++) {
          const record = makeRecord(PREFIX, index);
          device.map.set(record.id, record);
        }
      });
      await yieldToEventLoop();
    }
    const writesDoneMs = performance.now() - start;
    await echoes;
    return writesDoneMs;
  });
  send({
    type: 'result',
    ...cost,
    count: device.map.size,
    emissions: 0,
    api: 'transaction',
    errors: [],
  } satisfies WatchRoleResult);
  return async () => device.dispose();
}

/**
 * A Yjs reader: live beside the writer, or (`fresh`) a new document that connects at `go` and
 * syncs what the room holds. Its "watch" is an observer of the map that counts the keys each
 * update changed: Yjs at its cheapest (reading `map.size` would walk the whole map).
 */
async function readerYjs(options: WatchRoleParameters, send: Send, fresh: boolean) {
  let emissions = 0;
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const observe = (doc: Y.Doc) => {
    let present = 0;
    // The cheapest count there is (each record is written once): the keys the update added.
    doc.getMap<BenchRecord>('records').observe((event) => {
      emissions += 1;
      present += event.keysChanged.size;
      if (present === options.records) settle();
    });
  };
  let device = fresh ? undefined : await connectYjsDevice(options.url!, options.name, observe);
  await ready(send);
  const cost = await measured(async () => {
    device ??= await connectYjsDevice(options.url!, options.name, observe);
    await settled;
    return undefined;
  });
  send({
    type: 'result',
    ...cost,
    count: device!.map.size,
    emissions,
    api: 'transaction',
    errors: [],
  } satisfies WatchRoleResult);
  return async () => device?.dispose();
}

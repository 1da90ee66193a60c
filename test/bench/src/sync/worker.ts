/**
 * A worker process of the benchmark: holds clients whose memory and CPU must be their own.
 * `node … worker.ts <role> <json parameters>`; it talks to the benchmark over IPC:
 *
 * - `catchup-ours` / `catchup-yjs`: one fresh client. Sends `ready`, waits for `go`, syncs
 *   everything the server holds, sends `result`.
 * - `fanout-ours` / `fanout-yjs`: many light listening connections. Sends `ready`, then a
 *   `delivered` with every connection's arrival time each time all of them have an event.
 * - `idle-ours` / `idle-yjs`: many connections that do nothing. Sends `ready`.
 * - `writers-ours`, `bulk-ours`, `slow-reader-ours`, `slow-reader-yjs`: see load-roles.ts.
 * - `watch-local`, `watch-writer-ours`, `watch-reader-ours`, `watch-catchup-ours` and their
 *   Yjs peers: see watch-roles.ts and watch-roles-yjs.ts.
 *
 * A `close` message closes the connections and ends the process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { StorageAdapter } from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
import initSqlJs from 'sql.js';
import type WebSocket from 'ws';
import {
  type BulkParameters,
  bulkWriter,
  concurrentWriters,
  nextCommand,
  type SlowReaderParameters,
  slowReaderOurs,
  slowReaderYjs,
  type WritersParameters,
} from './load-roles.js';
import { residentMemory } from './proc.js';
import type { ChildMessage } from './processes.js';
import { sharedNow } from './stats.js';
import { WATCH_ROLES } from './watch-roles.js';
import { YJS_WATCH_ROLES } from './watch-roles-yjs.js';
import {
  closeSockets,
  connectYjsDevice,
  createOurDevice,
  isYjsUpdateFrame,
  openMany,
  openRawSession,
  openYjsListener,
} from './workload.js';

/** Handshakes in flight at once when opening many connections. */
const PARALLEL_OPENS = 50;

export interface CatchUpParameters {
  /** `http://…` of our server, or `ws://…` of the Yjs server. */
  url: string;
  /** Repository (ours) or room (Yjs). */
  name: string;
  expected: number;
  storage?: 'memory' | 'sqljs';
  /** Memory storage only: copy values in and out (the default) or not. */
  clone?: boolean;
}

export interface CatchUpResult extends ChildMessage {
  type: 'result';
  /** From start to the last event stored locally, ms. */
  syncMs: number;
  /** sql.js only: closing (the final save to the file) after that, ms. */
  closeMs: number;
  count: number;
  /** Largest heap in use seen while syncing, bytes. */
  peakHeapUsed: number;
  /** Heap in use before the sync started (after a collection), bytes. */
  baselineHeapUsed: number;
  /** Heap in use right after the sync, after a collection: what the synced data keeps, bytes. */
  retainedHeapUsed: number;
  /** The process's resident high-water mark (VmHWM), bytes. */
  peakRss: number;
}

export interface ListenParameters {
  url: string;
  name: string;
  connections: number;
}

export interface Delivered extends ChildMessage {
  type: 'delivered';
  key: string;
  /** Arrival time at each connection, `sharedNow()` ms. */
  times: number[];
}

const send = (message: ChildMessage) => process.send!(message);
const LOAD_ROLES: Record<
  string,
  (parameters: unknown, report: typeof send) => Promise<WebSocket[]>
> = {
  'writers-ours': (parameters, report) =>
    concurrentWriters(parameters as WritersParameters, report),
  'bulk-ours': (parameters, report) => bulkWriter(parameters as BulkParameters, report),
  'slow-reader-ours': (parameters, report) =>
    slowReaderOurs(parameters as SlowReaderParameters, report),
  'slow-reader-yjs': (parameters, report) =>
    slowReaderYjs(parameters as SlowReaderParameters, report),
};
const [role = '', json = '{}'] = process.argv.slice(2);
const parameters: unknown = JSON.parse(json);
let sockets: WebSocket[] = [];
let cleanup: () => Promise<void> = async () => undefined;

process.on('disconnect', () => process.exit(0));
process.on('message', (message: ChildMessage) => {
  if (message.type !== 'close') return;
  void (async () => {
    await closeSockets(sockets);
    await cleanup();
    send({ type: 'closed' });
    process.exit(0);
  })();
});

try {
  switch (role) {
    case 'catchup-ours':
    case 'catchup-yjs':
      await catchUp(role, parameters as CatchUpParameters);
      break;
    case 'fanout-ours':
    case 'idle-ours':
      await listenOurs(parameters as ListenParameters, role === 'fanout-ours');
      break;
    case 'fanout-yjs':
    case 'idle-yjs':
      await listenYjs(parameters as ListenParameters, role === 'fanout-yjs');
      break;
    default: {
      const watch = WATCH_ROLES[role] ?? YJS_WATCH_ROLES[role];
      if (watch) {
        cleanup = await watch(parameters, send);
        break;
      }
      const load = LOAD_ROLES[role];
      if (!load) throw new Error(`unknown role "${role}"`);
      sockets = await load(parameters, send);
    }
  }
} catch (error) {
  send({
    type: 'error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  process.exit(1);
}

/** Samples the heap in use whenever the event loop lets a timer run. */
function heapSampler(): { stop(): number } {
  let peak = getHeapStatistics().used_heap_size;
  const timer = setInterval(() => {
    peak = Math.max(peak, getHeapStatistics().used_heap_size);
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, getHeapStatistics().used_heap_size);
    },
  };
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

async function catchUp(which: string, options: CatchUpParameters): Promise<void> {
  if (which === 'catchup-yjs') {
    collect();
    const baselineHeapUsed = getHeapStatistics().used_heap_size;
    send({ type: 'ready' });
    await nextCommand('go');
    const sampler = heapSampler();
    const start = performance.now();
    const device = await connectYjsDevice(options.url, options.name);
    const syncMs = performance.now() - start;
    const peakHeapUsed = sampler.stop();
    const peakRss = residentMemory(process.pid).hwm;
    collect();
    send({
      type: 'result',
      syncMs,
      closeMs: 0,
      count: device.map.size,
      peakHeapUsed,
      baselineHeapUsed,
      retainedHeapUsed: getHeapStatistics().used_heap_size,
      peakRss,
    } satisfies CatchUpResult);
    cleanup = async () => device.dispose();
    return;
  }
  let storage: StorageAdapter;
  let directory: string | undefined;
  if (options.storage === 'sqljs') {
    directory = await mkdtemp(join(tmpdir(), 'lf-bench-sqljs-'));
    storage = new SqlJsStorageAdapter({
      sqlJs: initSqlJs(),
      persister: new NodeFilePersister({ path: join(directory, 'client.db') }),
    });
  } else {
    storage = new MemoryStorageAdapter({ clone: options.clone ?? true });
  }
  const device = await createOurDevice({
    origin: options.url,
    transport: 'ws',
    repository: options.name,
    storage,
  });
  collect();
  const baselineHeapUsed = getHeapStatistics().used_heap_size;
  send({ type: 'ready' });
  await nextCommand('go');
  const sampler = heapSampler();
  const start = performance.now();
  const done = device.syncCompleted();
  await device.client.start();
  await done;
  const syncMs = performance.now() - start;
  const peakHeapUsed = sampler.stop();
  // Read before counting: the count copies every event.
  const peakRss = residentMemory(process.pid).hwm;
  collect();
  const retainedHeapUsed = getHeapStatistics().used_heap_size;
  const count = (await device.client.storage.getEvents({ repository: options.name })).length;
  const closing = performance.now();
  await device.dispose();
  const closeMs = performance.now() - closing;
  if (directory) await rm(directory, { recursive: true, force: true });
  send({
    type: 'result',
    syncMs,
    closeMs: options.storage === 'sqljs' ? closeMs : 0,
    count,
    peakHeapUsed,
    baselineHeapUsed,
    retainedHeapUsed,
    peakRss,
  } satisfies CatchUpResult);
}

/** Tracks arrivals per key; reports a key when every connection has it. */
function arrivals(connections: number): (key: string) => void {
  const times = new Map<string, number[]>();
  return (key) => {
    const now = sharedNow();
    let list = times.get(key);
    if (!list) {
      list = [];
      times.set(key, list);
    }
    list.push(now);
    if (list.length === connections) {
      times.delete(key);
      send({ type: 'delivered', key, times: list } satisfies Delivered);
    }
  };
}

async function listenOurs(options: ListenParameters, report: boolean): Promise<void> {
  const arrived = arrivals(options.connections);
  // A broadcast of the repository starts with these bytes (the server writes its fields in
  // this order). Each write is its own broadcast, so the n-th one is event n, as for Yjs.
  const prefix = Buffer.from(`{"type":"events","repository":${JSON.stringify(options.name)},`);
  const broadcasts = new Array<number>(options.connections).fill(0);
  sockets = await openMany(options.connections, PARALLEL_OPENS, (index) =>
    openRawSession(
      options.url,
      `bench-${process.pid}-${index}`,
      () => undefined,
      (data) => {
        if (
          !report ||
          data.length < prefix.length ||
          !data.subarray(0, prefix.length).equals(prefix)
        )
          return false;
        arrived(String(broadcasts[index]!++));
        return true;
      },
    ),
  );
  send({ type: 'ready', opened: sockets.length });
}

async function listenYjs(options: ListenParameters, report: boolean): Promise<void> {
  const arrived = arrivals(options.connections);
  const updates = new Array<number>(options.connections).fill(0);
  sockets = await openMany(options.connections, PARALLEL_OPENS, (index) =>
    openYjsListener(options.url, options.name, (data) => {
      // Updates come in the order they were written: the n-th one is event n.
      if (report && isYjsUpdateFrame(data)) arrived(String(updates[index]!++));
    }),
  );
  send({ type: 'ready', opened: sockets.length });
}

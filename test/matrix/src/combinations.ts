import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  RestSyncSetup,
  SyncSetup,
  SyncSetupBase,
  WebSocketSyncSetup,
} from '@local-first/contract';
import type { StorageAdapter, Transport } from '@local-first/core';
import { PeriodicSyncStrategy } from '@local-first/periodic';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
import { TabStorageAdapter } from '@local-first/tabs';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import localforage from 'localforage';
import { io } from 'socket.io-client';
import initSqlJs from 'sql.js';
import WebSocket from 'ws';
import { MATRIX_TOKENS, ServerProcess, type StoreKind } from './server-process.js';

const require = createRequire(import.meta.url);

/** Client storages of the matrix; the registry test checks every storage adapter is here. */
export const STORAGES = {
  'storage-memory': 'memory',
  'storage-sqljs': 'sql.js (file)',
  'storage-localforage': 'localforage (IndexedDB)',
  tabs: 'tabs: localforage through the leading tab',
} as const;
/** Client transports of the matrix. */
export const TRANSPORTS = {
  'transport-ws': 'ws',
  'transport-socketio': 'socket.io',
} as const;
/**
 * Client sync strategies of the matrix, by their package under strategies/ (the registry test
 * checks every client strategy is here): the WebSocket one over each transport, the periodic
 * one over REST.
 */
export const STRATEGIES = {
  websocket: 'WebSocket',
  periodic: 'periodic, over REST',
} as const;
export type StrategyName = keyof typeof STRATEGIES;
/** How clients reach the server: a transport of the WebSocket strategy, or REST. */
export const WIRES = { ...TRANSPORTS, rest: 'periodic' } as const;
export type WireName = keyof typeof WIRES;

/** The strategy a wire's clients sync with. */
export function strategyOf(wire: WireName): StrategyName {
  return wire === 'rest' ? 'periodic' : 'websocket';
}

/**
 * Timings of the periodic strategy in the matrix: short, so that a scenario's waits end in
 * well under a second, yet a round every 200 ms keeps two cores far from busy.
 */
export const PERIODIC_TIMINGS = {
  syncInterval: 200,
  pushDelay: 20,
  retryDelay: 50,
  maxRetryDelay: 500,
} as const;

/**
 * Fan-outs between server nodes, beside the default one through PostgreSQL itself: each runs in
 * the two-node combinations (the registry test checks every fan-out adapter is here).
 */
export const FANOUTS = {
  'fanout-redis': 'Redis pub/sub',
} as const;
export type FanoutName = keyof typeof FANOUTS;

/** Server event stores of the matrix. */
export const STORES = {
  'store-memory': 'memory',
  'store-sqlite': 'SQLite',
  'store-postgres': 'PostgreSQL',
} as const;

export type StorageName = keyof typeof STORAGES;
export type TransportName = keyof typeof TRANSPORTS;
export type StoreName = keyof typeof STORES;

export const MAX_PAGE_EVENTS = 20;

const sqlJs = initSqlJs({ locateFile: (file: string) => require.resolve(`sql.js/dist/${file}`) });

/** A storage factory where one device name always means the same data. */
function storageFactory(
  kind: StorageName,
  directory: string,
  run: string,
): (device: string) => Promise<StorageAdapter> {
  const memory = new Map<string, MemoryStorageAdapter>();
  return async (device) => {
    switch (kind) {
      case 'storage-memory': {
        let adapter = memory.get(device);
        if (!adapter) {
          adapter = new MemoryStorageAdapter();
          memory.set(device, adapter);
        }
        return adapter;
      }
      case 'storage-sqljs':
        return new SqlJsStorageAdapter({
          sqlJs,
          persister: new NodeFilePersister({ path: join(directory, `${device}.sqlite`) }),
          flushEachTransaction: true,
        });
      case 'storage-localforage':
        return new LocalForageStorageAdapter({
          localforage: localforage.createInstance({
            name: `matrix-${run}-${device}`,
            storeName: 'kv',
          }),
        });
      case 'tabs':
        // One tab of its browser, which leads (by the IndexedDB lease: Node has no Web Locks).
        return new TabStorageAdapter({
          name: `matrix-${run}-${device}-tabs`,
          open: () =>
            new LocalForageStorageAdapter({
              localforage: localforage.createInstance({
                name: `matrix-${run}-${device}-tabs`,
                storeName: 'kv',
              }),
            }),
        });
    }
  };
}

function transportFactory(kind: TransportName): {
  transport: () => Transport;
  url: (origin: string) => string;
} {
  if (kind === 'transport-ws') {
    return {
      transport: () => new WsTransport({ WebSocket }),
      url: (origin) => `${origin.replace(/^http/, 'ws')}/sync`,
    };
  }
  return { transport: () => new SocketIoTransport({ io }), url: (origin) => origin };
}

let runs = 0;

/**
 * Everything `describeSync` needs for one combination, with its own server process: for a
 * transport, the WebSocket strategy over it; for `rest`, the periodic strategy through `fetch`.
 * With `nodes: 2` (PostgreSQL only), two server processes share the database, and the clients
 * of a scenario alternate between them: the first on node A, the second on node B, and so on,
 * so every write crosses nodes through the fan-out, and the suite's raw re-push of a duplicate
 * goes to node B.
 */
export async function combinationSetup(
  storage: StorageName,
  wire: WireName,
  store: StoreName,
  connectionString?: string,
  nodes: 1 | 2 = 1,
  /** For several nodes: `--fanout` of each (a `redis://` URL); default the store's own. */
  fanout?: string,
): Promise<SyncSetup> {
  if (nodes > 1 && store !== 'store-postgres') {
    throw new Error(`several nodes need the PostgreSQL store, not ${store}`);
  }
  const run = `${process.pid}-${++runs}`;
  const directory = await mkdtemp(join(tmpdir(), 'lf-matrix-client-'));
  const servers = Array.from(
    { length: nodes },
    () =>
      new ServerProcess({
        store: store.replace('store-', '') as StoreKind,
        ...(connectionString ? { connectionString } : {}),
        ...(fanout ? { fanout } : {}),
        maxPageEvents: MAX_PAGE_EVENTS,
      }),
  );
  for (const server of servers) await server.start();
  const tokens = Object.keys(MATRIX_TOKENS) as [string, string];
  let clients = 0;
  /** The server of the next client: they alternate between the nodes. */
  const nextServer = () => servers[clients++ % servers.length]!;
  const lastServer = servers[servers.length - 1]!;
  const base: SyncSetupBase = {
    storage: storageFactory(storage, directory, run),
    tokens,
    async restartServer() {
      for (const server of servers) await server.restart();
    },
    durableServer: store !== 'store-memory',
    maxPageEvents: MAX_PAGE_EVENTS,
    async teardown() {
      for (const server of servers) await server.dispose();
      await rm(directory, { recursive: true, force: true });
    },
  };
  if (wire === 'rest') {
    const setup: RestSyncSetup = {
      ...base,
      wire: 'rest',
      baseUrl: lastServer.origin,
      strategy: ({ fetch, token, repositories }) =>
        new PeriodicSyncStrategy({
          baseUrl: nextServer().origin,
          fetch,
          authToken: token,
          repositoryNames: repositories,
          ...PERIODIC_TIMINGS,
        }),
    };
    return setup;
  }
  const { transport: makeTransport, url } = transportFactory(wire);
  const setup: WebSocketSyncSetup = {
    ...base,
    wire: 'websocket',
    transport: makeTransport,
    get websocketUrl() {
      return url(lastServer.origin);
    },
    strategy: ({ transport: chosen, token, repositories }) =>
      new WebSocketSyncStrategy({
        websocketUrl: url(nextServer().origin),
        transport: chosen,
        authToken: token,
        repositories,
        reconnectDelay: 50,
        maxReconnectDelay: 500,
        heartbeatInterval: 0,
      }),
  };
  return setup;
}

/** The title of a combination: its three parts, by package name (`rest` for the periodic one). */
export function combinationName(
  storage: StorageName,
  wire: WireName,
  store: StoreName,
  nodes: 1 | 2 = 1,
  fanout?: FanoutName,
): string {
  const nodesPart =
    nodes > 1 ? `, ${nodes} nodes${fanout ? `, ${fanout} (${FANOUTS[fanout]})` : ''}` : '';
  return `${storage} (${STORAGES[storage]}) × ${wire} (${WIRES[wire]}) × ${store} (${STORES[store]}${nodesPart})`;
}

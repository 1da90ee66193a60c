import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncSetup } from '@local-first/contract';
import type { StorageAdapter, Transport } from '@local-first/core';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
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
} as const;
/** Client transports of the matrix. */
export const TRANSPORTS = {
  'transport-ws': 'ws',
  'transport-socketio': 'socket.io',
} as const;
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

/** Everything `describeSync` needs for one combination, with its own server process. */
export async function combinationSetup(
  storage: StorageName,
  transport: TransportName,
  store: StoreName,
  connectionString?: string,
): Promise<SyncSetup> {
  const run = `${process.pid}-${++runs}`;
  const directory = await mkdtemp(join(tmpdir(), 'lf-matrix-client-'));
  const server = new ServerProcess({
    store: store.replace('store-', '') as StoreKind,
    ...(connectionString ? { connectionString } : {}),
    maxPageEvents: MAX_PAGE_EVENTS,
  });
  await server.start();
  const { transport: makeTransport, url } = transportFactory(transport);
  const tokens = Object.keys(MATRIX_TOKENS) as [string, string];
  return {
    storage: storageFactory(storage, directory, run),
    transport: makeTransport,
    get websocketUrl() {
      return url(server.origin);
    },
    strategy: ({ transport: chosen, token, repositories }) =>
      new WebSocketSyncStrategy({
        websocketUrl: url(server.origin),
        transport: chosen,
        authToken: token,
        repositories,
        reconnectDelay: 50,
        maxReconnectDelay: 500,
        heartbeatInterval: 0,
      }),
    tokens,
    restartServer: () => server.restart(),
    durableServer: store !== 'store-memory',
    maxPageEvents: MAX_PAGE_EVENTS,
    async teardown() {
      await server.dispose();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The title of a combination: its three parts, by package name. */
export function combinationName(
  storage: StorageName,
  transport: TransportName,
  store: StoreName,
): string {
  return `${storage} (${STORAGES[storage]}) × ${transport} (${TRANSPORTS[transport]}) × ${store} (${STORES[store]})`;
}

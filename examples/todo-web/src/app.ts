import { LocalFirstClient, type Repository } from '@local-first/core';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import { claimStorage } from './storage-slot.js';
import { createTodoRepository, type Todo, type TodoActions, todoActions } from './todos.js';

/**
 * Sync timings for an app a person is looking at. The strategy's defaults suit long-lived
 * services; here a restarted server should be found again within seconds, and a link that died
 * without a close (a sleeping laptop, a dropped Wi-Fi) should show as such soon after.
 */
export const SYNC_TIMINGS = {
  reconnectDelay: 500,
  maxReconnectDelay: 5_000,
  heartbeatInterval: 5_000,
  pongTimeout: 3_000,
} as const;

/** The sync endpoint of the server that served the page: the app needs no configuration. */
export function syncUrl(location: Location): string {
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${protocol}//${location.host}/sync`;
}

export interface TodoApp {
  client: LocalFirstClient;
  sync: WebSocketSyncStrategy;
  todos: Repository<Todo>;
  actions: TodoActions;
}

/** Opens local storage, then syncs whenever the browser is online. */
export async function startTodoApp(): Promise<TodoApp> {
  const todos = createTodoRepository();
  const sync = new WebSocketSyncStrategy({
    websocketUrl: syncUrl(window.location),
    transport: new WsTransport({ WebSocket }),
    // A server started with --auth tokens or jwt needs one: open the app as /?token=…
    authToken: new URLSearchParams(window.location.search).get('token') ?? undefined,
    ...SYNC_TIMINGS,
  });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new LocalForageStorageAdapter({ localforage: await claimStorage() }),
    syncStrategies: [sync],
  });
  await client.initialize();
  followNetwork(client);
  return { client, sync, todos, actions: todoActions(todos) };
}

/**
 * Browsers can keep a WebSocket open for a while after the network went away, so the heartbeat
 * alone would notice late. The browser's own offline and online events stop sync at once (the
 * indicator says offline, writes wait in storage) and start it again without a backoff delay.
 */
function followNetwork(client: LocalFirstClient): void {
  window.addEventListener('offline', () => void client.stop());
  window.addEventListener('online', () => void client.start());
  if (navigator.onLine) void client.start();
}

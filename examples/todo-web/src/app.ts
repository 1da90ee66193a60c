import { LocalFirstClient, type Repository } from '@local-first/core';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import { TabStorageAdapter, TabSync } from '@local-first/tabs';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import localforage from 'localforage';
import { type Account, accountOf } from './accounts.js';
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

/** A list shared with other accounts. */
export interface SharedList {
  id: string;
  todos: Repository<Todo>;
  actions: TodoActions;
}

export interface TodoApp {
  client: LocalFirstClient;
  /** The tabs' one sync: run by the tab that leads, its connection shown by every tab. */
  sync: TabSync;
  /** This tab's strategy; it connects only while this tab leads. */
  strategy: WebSocketSyncStrategy;
  /** The store all tabs share, through the tab that leads. */
  storage: TabStorageAdapter;
  /** The account the page is open for; none on a server without accounts. */
  account: Account | undefined;
  todos: Repository<Todo>;
  actions: TodoActions;
  shared: SharedList[];
}

/**
 * The app's name for its tabs, its IndexedDB store and its election: one group of tabs per
 * account, so that the tab leading for alice never holds bob's changes, which only a socket
 * signed in as bob may push.
 */
export function tabGroup(account: Account | undefined): string {
  return account ? `local-first-todo:${account.name}` : 'local-first-todo';
}

/**
 * Opens local storage (the account's own namespace, when signed in), then syncs whenever the
 * browser is online. The private list is `todos` for every account: the server's rules keep
 * one per user. Shared lists are `lists/<id>`, readable and writable by their members.
 *
 * Every tab of the app is one device: one tab leads, holds the IndexedDB store and the socket,
 * and the others read and write through it (`@local-first/tabs`). When it closes, another tab
 * takes over with everything still pending.
 */
export async function startTodoApp(): Promise<TodoApp> {
  const account = accountOf(window.location);
  const todos = createTodoRepository();
  const shared = (account?.sharedLists ?? []).map((id) => {
    const repository = createTodoRepository(`lists/${id}`);
    return { id, todos: repository, actions: todoActions(repository) };
  });
  const strategy = new WebSocketSyncStrategy({
    websocketUrl: syncUrl(window.location),
    transport: new WsTransport({ WebSocket }),
    // A server started with --auth tokens or jwt needs one: /?token=… (an account's token
    // comes with its namespace, below).
    authToken: new URLSearchParams(window.location.search).get('token') ?? undefined,
    ...SYNC_TIMINGS,
  });
  const group = tabGroup(account);
  const storage = new TabStorageAdapter({
    name: group,
    open: () =>
      new LocalForageStorageAdapter({
        localforage: localforage.createInstance({ name: group, storeName: 'store' }),
      }),
  });
  const client = new LocalFirstClient({
    repositories: [todos, ...shared.map((list) => list.todos)],
    localStorage: storage,
    syncStrategies: [strategy],
  });
  await client.initialize();
  const sync = new TabSync({ name: group, client, storage });
  // A tab that goes for good lets the next one lead at once instead of after its lease runs
  // out; one kept in the back-forward cache may come back, and keeps its client.
  window.addEventListener('pagehide', (event) => {
    if (!event.persisted) void client.dispose();
  });
  // Each account's data, pending writes and cursors stay in a namespace of its own, so one
  // account's writes are never sent with another's token. Chosen before sync starts.
  if (account)
    await client.useNamespace(`account:${account.name}`, {
      credentials: { authToken: account.token },
    });
  followNetwork(sync);
  return { client, sync, strategy, storage, account, todos, actions: todoActions(todos), shared };
}

/**
 * Browsers can keep a WebSocket open for a while after the network went away, so the heartbeat
 * alone would notice late. The browser's own offline and online events stop sync at once (the
 * indicator says offline, writes wait in storage) and start it again without a backoff delay.
 */
function followNetwork(sync: TabSync): void {
  window.addEventListener('offline', () => void sync.stop());
  window.addEventListener('online', () => void sync.start());
  if (navigator.onLine) void sync.start();
}

import 'fake-indexeddb/auto';
import {
  type ConnectionState,
  LocalFirstClient,
  Repository,
  type StoredEvent,
  type SyncStrategy,
  silentLogger,
} from '@local-first/core';
import { StateSignal, type SyncHost } from '@local-first/core/adapter';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import localforage from 'localforage';
import { type ChannelLike, TabLeadership } from '../src/leadership.js';
import { TabStorageAdapter } from '../src/tab-storage.js';
import { TabSync } from '../src/tab-sync.js';
import { FakeBrowserLocks, type FakeTab } from './browser-double.js';

export interface Todo {
  id: string;
  title: string;
}

/** A BroadcastChannel that can be cut, as a crashed tab's channel is: nothing in, nothing out. */
export class CuttableChannel implements ChannelLike {
  private readonly channel: BroadcastChannel;
  private cut = false;
  private readonly listeners = new Map<
    (event: { data: unknown }) => void,
    (event: MessageEvent) => void
  >();

  constructor(name: string) {
    this.channel = new BroadcastChannel(name);
  }
  postMessage(message: unknown): void {
    if (!this.cut) this.channel.postMessage(message);
  }
  addEventListener(_type: 'message', listener: (event: { data: unknown }) => void): void {
    const wrapped = (event: MessageEvent) => {
      if (!this.cut) listener(event);
    };
    this.listeners.set(listener, wrapped);
    this.channel.addEventListener('message', wrapped as EventListener);
  }
  removeEventListener(_type: 'message', listener: (event: { data: unknown }) => void): void {
    const wrapped = this.listeners.get(listener);
    if (wrapped) this.channel.removeEventListener('message', wrapped as EventListener);
  }
  close(): void {
    this.channel.close();
  }
  /** The tab is gone: its channel neither sends nor hears any more. */
  sever(): void {
    this.cut = true;
    this.channel.close();
  }
}

/** A strategy that only records the events its client hands it, a list per handing. */
export class PushRecorder implements SyncStrategy {
  readonly name = 'recorder';
  readonly pushed: string[][] = [];
  /** How many times it was started: once per browser at a time, in the leading tab. */
  starts = 0;
  private readonly state = new StateSignal<ConnectionState>('stopped');
  readonly stateChanges = this.state;
  get connectionState(): ConnectionState {
    return this.state.value;
  }
  /** The link of the leading tab changes (a server restart, the network). */
  setState(state: ConnectionState): void {
    this.state.set(state);
  }
  readonly connectionChanges = {
    subscribe: (listener: (value: boolean) => void) => {
      listener(true);
      return () => {};
    },
  };
  /** What the client gave it to sync with. */
  host: SyncHost | undefined;
  attach(host: SyncHost): void {
    this.host = host;
  }
  async start(): Promise<void> {
    this.starts++;
    this.state.set('connected');
  }
  async stop(): Promise<void> {
    this.state.set('stopped');
  }
  async dispose(): Promise<void> {}
  onPushToRemote(event: StoredEvent): void {
    this.pushed.push([event.eventId]);
  }
  onPushManyToRemote(events: readonly StoredEvent[]): void {
    this.pushed.push(events.map((event) => event.eventId));
  }
  handlesRepository(): boolean {
    return true;
  }
}

export interface Tab {
  index: number;
  browserTab: FakeTab;
  channel: CuttableChannel;
  storage: TabStorageAdapter;
  client: LocalFirstClient;
  todos: Repository<Todo>;
  /** The event ids the client handed its strategy, a list per handing. */
  pushed: string[][];
  /** Its strategy. */
  strategy: PushRecorder;
  /** Its sync, run by whichever tab leads. */
  sync: TabSync;
  /** The tab closes or crashes: its locks are freed, its channel goes silent. */
  crash(): void;
}

let apps = 0;

/** An app in a browser: each call to `open()` is one more tab of it, over one IndexedDB. */
export function browserApp() {
  const name = `app-${++apps}-${Math.random().toString(36).slice(2)}`;
  const browser = new FakeBrowserLocks();
  const tabs: Tab[] = [];
  return {
    tabs,
    async open(): Promise<Tab> {
      const index = tabs.length;
      const browserTab = browser.tab();
      const channel = new CuttableChannel(`${name}:tabs`);
      const leadership = new TabLeadership({ name, tabId: `tab${index}`, locks: browserTab.locks });
      const storage = new TabStorageAdapter({
        name,
        leadership,
        channel,
        open: () =>
          new LocalForageStorageAdapter({
            localforage: localforage.createInstance({ name, storeName: 'kv' }),
          }),
      });
      const todos = new Repository<Todo>({ name: 'todos' });
      const recorder = new PushRecorder();
      const client = new LocalFirstClient({
        repositories: [todos],
        localStorage: storage,
        syncStrategies: [recorder],
        logger: silentLogger,
      });
      await client.initialize();
      const sync = new TabSync({
        name,
        client,
        storage,
        channel: new CuttableChannel(`${name}:sync`),
        onError: () => {},
      });
      const tab: Tab = {
        index,
        browserTab,
        channel,
        storage,
        client,
        todos,
        pushed: recorder.pushed,
        strategy: recorder,
        sync,
        crash() {
          browserTab.close();
          channel.sever();
          sync.close();
        },
      };
      tabs.push(tab);
      return tab;
    },
    async close(): Promise<void> {
      for (const tab of tabs) tab.sync.close();
      await Promise.all(tabs.map((tab) => tab.client.dispose().catch(() => undefined)));
    },
  };
}

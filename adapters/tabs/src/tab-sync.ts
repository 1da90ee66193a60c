import type { ConnectionState } from '@local-first/core';
import { StateSignal, type Subscribable, type Unsubscribe } from '@local-first/core/adapter';
import type { ChannelLike } from './leadership.js';

/** The part of `LocalFirstClient` that `TabSync` drives. */
export interface SyncedClient {
  /** Starts the client's strategies. */
  start(): Promise<void>;
  /** Stops them. */
  stop(): Promise<void>;
  /** The client's connection state, the current one first. */
  readonly connectionChanges: Subscribable<AggregateState>;
}

/** The part of `ClientConnectionState` that `TabSync` tells the other tabs. */
export interface AggregateState {
  /** The least advanced state among the client's strategies. */
  aggregate: ConnectionState;
}

/** A connection state that is there at once and follows every change. */
export interface ConnectionSignal extends Subscribable<ConnectionState> {
  /** The state now. */
  readonly value: ConnectionState;
}

/** The part of `TabStorageAdapter` that `TabSync` follows. */
export interface LeadingStore {
  /** True while this tab holds the real store. */
  readonly leading: Subscribable<boolean>;
}

/** Options of `TabSync`. */
export interface TabSyncOptions {
  /** The app's name for its tabs, as given to `TabStorageAdapter`. */
  name: string;
  /** This tab's client, whose storage is `storage`. */
  client: SyncedClient;
  /** This tab's `TabStorageAdapter`: the tab that holds the real store runs the strategies. */
  storage: LeadingStore;
  /** Where the leader tells the others how it is connected. Default a BroadcastChannel. */
  channel?: ChannelLike;
  /** What `connection` says before any tab has said how it is connected. Default `connecting`. */
  initial?: ConnectionState;
  /** Where a failure to start or stop the strategies goes. Default `console.error`. */
  onError?: (error: unknown) => void;
}

interface StateMessage {
  kind: 'local-first:sync-state';
  state: ConnectionState;
}
interface AskMessage {
  kind: 'local-first:sync-ask';
}

const STATES = new Set<string>(['stopped', 'connecting', 'connected', 'reconnecting', 'failed']);

function isStateMessage(data: unknown): data is StateMessage {
  const message = data as Partial<StateMessage> | null;
  return message?.kind === 'local-first:sync-state' && STATES.has(String(message.state));
}

/**
 * Sync for the tabs of one app: only the tab that leads runs its client's strategies (one
 * socket per browser), and every tab shows that tab's connection state. The followers' writes
 * reach the leader through the shared store, and its strategies push them with its own. When
 * the leader goes, the next one starts its strategies if the app wants sync; the pending
 * changes of every tab, the closed one's included, are in the store it now holds.
 *
 * Call `start()` and `stop()` here instead of on the client: in a follower they only record
 * what the app wants.
 */
export class TabSync {
  private readonly channel: ChannelLike;
  private readonly state: StateSignal<ConnectionState>;
  private readonly subscriptions: Unsubscribe[] = [];
  private wanted = false;
  private leads = false;
  /** This tab's own client's state, told to the others while it leads. */
  private own: ConnectionState = 'stopped';
  private closed = false;
  /** Start and stop calls on the client, in the order they were decided. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: TabSyncOptions) {
    this.channel = options.channel ?? new BroadcastChannel(`${options.name}:sync`);
    this.state = new StateSignal<ConnectionState>(options.initial ?? 'connecting');
    this.channel.addEventListener('message', this.onMessage);
    this.subscriptions.push(
      options.storage.leading.subscribe((leading) => this.leadingChanged(leading)),
      options.client.connectionChanges.subscribe(({ aggregate }) => {
        this.own = aggregate;
        if (!this.leads) return;
        this.state.set(aggregate);
        this.tell(aggregate);
      }),
    );
    if (!this.leads) this.post({ kind: 'local-first:sync-ask' });
  }

  /** How the tab that leads is connected (this tab's own state when it leads). */
  get connection(): ConnectionSignal {
    return this.state;
  }

  /** Whether this tab runs the strategies now. */
  get isLeader(): boolean {
    return this.leads;
  }

  /** The app wants sync: the leading tab starts its strategies, now or once it leads. */
  start(): Promise<void> {
    this.wanted = true;
    return this.leads ? this.run('start') : Promise.resolve();
  }

  /** The app wants sync off (offline, signed out): the leading tab stops its strategies. */
  stop(): Promise<void> {
    this.wanted = false;
    return this.leads ? this.run('stop') : Promise.resolve();
  }

  /** Stops listening; the client is left as it is (dispose it to stop its strategies). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.subscriptions.splice(0)) unsubscribe();
    this.channel.removeEventListener('message', this.onMessage);
    this.channel.close();
  }

  private leadingChanged(leading: boolean): void {
    if (leading === this.leads || this.closed) return;
    this.leads = leading;
    if (leading) {
      this.state.set(this.own);
      this.tell(this.own);
      if (this.wanted) void this.run('start');
    } else {
      // This tab's store went to another tab; so does the socket.
      void this.run('stop');
      this.post({ kind: 'local-first:sync-ask' });
    }
  }

  private run(step: 'start' | 'stop'): Promise<void> {
    const next = this.chain.then(() => this.options.client[step]());
    this.chain = next.catch((error: unknown) => (this.options.onError ?? console.error)(error));
    return next;
  }

  private readonly onMessage = (event: { data: unknown }): void => {
    if (this.closed) return;
    const data = event.data as { kind?: unknown } | null;
    if (data?.kind === 'local-first:sync-ask') {
      if (this.leads) this.tell(this.state.value);
    } else if (isStateMessage(data) && !this.leads) this.state.set(data.state);
  };

  private tell(state: ConnectionState): void {
    this.post({ kind: 'local-first:sync-state', state });
  }

  private post(message: StateMessage | AskMessage): void {
    if (!this.closed) this.channel.postMessage(message);
  }
}

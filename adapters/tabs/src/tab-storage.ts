import {
  DEFAULT_NAMESPACE,
  ERROR_CODES,
  LocalFirstError,
  type QuerySpec,
  type StorageAdapter,
  type StorageCapabilities,
  type StoredEvent,
  type StoredRecord,
} from '@local-first/core';
import {
  Emitter,
  type EventQuery,
  type ExternalCommit,
  StateSignal,
  type StorageTransaction,
  type Subscribable,
  storageClosedError,
} from '@local-first/core/adapter';
import { isTransactionGone, LeaderStore } from './leader-store.js';
import { type ChannelLike, TabLeadership } from './leadership.js';
import {
  type CallMessage,
  forwardingTransaction,
  fromWire,
  isTabMessage,
  LeaderChanged,
  type Pending,
  type TabMessage,
  toWire,
} from './protocol.js';

/** Options of `TabStorageAdapter`. */
export interface TabStorageOptions {
  /** The app's name for its tabs: the channel and the election are named after it. */
  name: string;
  /** Makes the real adapter; called in the tab that leads, each time it starts to lead. */
  open(): StorageAdapter;
  /** The election. Default `new TabLeadership({ name })`, started by `open()`. */
  leadership?: TabLeadership;
  /** The tabs' channel. Default `new BroadcastChannel(name + ':tabs')`. */
  channel?: ChannelLike;
  /** What the real adapter can do (the suites skip by it). Default persistent, no native query. */
  capabilities?: StorageCapabilities;
  /** How often a follower asks again who leads while nobody answers. Default 500 ms. */
  helloMs?: number;
}

/**
 * A `StorageAdapter` shared by the tabs of an app. The tab that leads (`TabLeadership`) holds
 * the real adapter; the others send it every call over a BroadcastChannel, transactions
 * included (opened on the leader, their calls made there one by one, committed there). Every
 * transaction that commits is told to every tab (`externalCommits`), so each tab's watches and
 * pending count follow them all. When the leader goes, the next tab opens the real adapter
 * over the same data; a follower's transaction cut off by the handover runs again there.
 */
export class TabStorageAdapter implements StorageAdapter {
  readonly name = 'tabs';
  readonly capabilities: StorageCapabilities;
  /** The election this tab takes part in. */
  readonly leadership: TabLeadership;
  private readonly channel: ChannelLike;
  private readonly commits = new Emitter<ExternalCommit>();
  private readonly leads = new StateSignal(false);
  private current = DEFAULT_NAMESPACE;
  private leader: LeaderStore | undefined;
  private becoming: Promise<void> | undefined;
  private leaderTab: string | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private opened: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Calls made on this adapter and not yet answered; `close()` lets them finish. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly leaderKnown = new Set<() => void>();
  private helloTimer: ReturnType<typeof setInterval> | undefined;
  private readonly onMessage = (event: { data: unknown }) => this.receive(event.data);

  constructor(private readonly options: TabStorageOptions) {
    this.leadership = options.leadership ?? new TabLeadership({ name: options.name });
    this.channel = options.channel ?? new BroadcastChannel(`${options.name}:tabs`);
    this.capabilities = options.capabilities ?? { persistent: true, nativeQuery: false };
  }

  get namespace(): string {
    return this.current;
  }

  /** The commits of the other tabs (and, in the leader, those made through it). */
  get externalCommits(): Subscribable<ExternalCommit> {
    return this.commits;
  }

  /** Whether this tab holds the real adapter now. */
  get isLeader(): boolean {
    return this.leader !== undefined;
  }

  /** `isLeader` over time: true once this tab's real adapter is open, false when it stops. */
  get leading(): Subscribable<boolean> {
    return this.leads;
  }

  open(): Promise<void> {
    if (this.closed) return Promise.reject(storageClosedError());
    this.opened ??= this.start();
    return this.opened;
  }

  private async start(): Promise<void> {
    this.channel.addEventListener('message', this.onMessage);
    this.leadership.changes.subscribe((leading) => {
      if (leading) this.becoming = this.lead();
      else this.follow();
    });
    this.leadership.start();
    if (!this.leadership.isLeader) this.post({ kind: 'hello', from: this.tabId });
    this.helloTimer = setInterval(() => {
      if (!this.leader && !this.leaderTab) this.post({ kind: 'hello', from: this.tabId });
    }, this.options.helloMs ?? 500);
    await this.untilLeaderKnown();
    if (this.closing) throw storageClosedError();
  }

  /** A call on this adapter: refused before `open()` and once `close()` began; awaited by it. */
  private entry<T>(call: () => Promise<T>): Promise<T> {
    if (!this.opened) {
      return Promise.reject(
        new LocalFirstError(ERROR_CODES.notInitialized, 'open() the storage adapter first'),
      );
    }
    if (this.closing) return Promise.reject(storageClosedError());
    const made = call();
    this.inFlight.add(made);
    const done = () => void this.inFlight.delete(made);
    made.then(done, done);
    return made;
  }

  private get tabId(): string {
    return this.leadership.tabId;
  }

  /** This tab leads: it opens the real adapter, and calls waiting for a leader come here. */
  private async lead(): Promise<void> {
    const store = this.options.open();
    await store.open();
    if (!this.leadership.isLeader || this.closed) {
      await store.close();
      return;
    }
    this.leader = new LeaderStore(store);
    this.leaderTab = this.tabId;
    this.post({ kind: 'leader', from: this.tabId });
    this.leaderFound();
    this.leads.set(true);
    this.resync();
    // Calls sent to the tab that led before are answered by nobody now: make them here; a
    // transaction opened there is gone with it, and runs again.
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      if (pending.message.tx !== undefined) pending.reject(new LeaderChanged());
      else this.serve(pending.message).then(pending.resolve, pending.reject);
    }
  }

  /** This tab stopped leading: it closes the real adapter and waits for the next leader. */
  private follow(): void {
    const leader = this.leader;
    this.leader = undefined;
    this.leaderTab = undefined;
    if (!leader) return;
    this.leads.set(false);
    leader.abortAll();
    void leader.exclusive(this.current, (store) => store.close()).catch(() => undefined);
    if (!this.closed) this.post({ kind: 'hello', from: this.tabId });
  }

  private untilLeaderKnown(): Promise<void> {
    if (this.leader || this.leaderTab) return Promise.resolve();
    return new Promise((resolve) => this.leaderKnown.add(resolve));
  }

  private leaderFound(): void {
    for (const resolve of [...this.leaderKnown]) resolve();
    this.leaderKnown.clear();
  }

  private receive(data: unknown): void {
    if (!isTabMessage(data) || this.closed) return;
    const message = data as TabMessage;
    switch (message.kind) {
      case 'hello':
        if (this.leader) this.post({ kind: 'leader', from: this.tabId });
        return;
      case 'leader':
        this.leaderIs(message.from);
        return;
      case 'call':
        if (message.to === this.tabId) this.answer(message);
        return;
      case 'reply': {
        if (message.to !== this.tabId) return;
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(fromWire(message.error!));
        return;
      }
      case 'commit':
        if (message.origin !== this.tabId) this.commits.emit(message.commit);
        return;
      default:
        return;
    }
  }

  /** Another tab leads: calls that went to the one before are sent again, transactions fail. */
  private leaderIs(tab: string): void {
    if (this.leader || tab === this.leaderTab) return;
    this.leaderTab = tab;
    this.leaderFound();
    this.resync();
    for (const pending of this.pending.values()) {
      if (pending.message.tx !== undefined) {
        this.pending.delete(pending.message.id);
        pending.reject(new LeaderChanged());
      } else this.post({ ...pending.message, to: tab });
    }
  }

  /** The leader answers a follower's call. */
  private answer(message: CallMessage): void {
    this.serve(message).then(
      (value) =>
        this.post({
          kind: 'reply',
          from: this.tabId,
          to: message.from,
          id: message.id,
          ok: true,
          value,
        }),
      (error: unknown) =>
        this.post({
          kind: 'reply',
          from: this.tabId,
          to: message.from,
          id: message.id,
          ok: false,
          error: toWire(error),
        }),
    );
  }

  /** Makes a call on the real adapter; in the leader only. */
  private async serve(message: CallMessage): Promise<unknown> {
    if (!this.leader) throw new LeaderChanged();
    const { value, commit } = await this.leader.serve(message);
    if (commit) this.announce(message.from, commit);
    return value;
  }

  /**
   * A new leader: the one before may have committed something it never got to tell (a page
   * that unloads stops its scripts, not IndexedDB), so this tab's client reads again.
   */
  private resync(): void {
    this.commits.emit({
      namespace: this.current,
      records: [],
      appended: [],
      statuses: [],
      resync: true,
    });
  }

  /** Tells every tab (and this one's client, when it was not this tab's) what committed. */
  private announce(origin: string, commit: ExternalCommit): void {
    if (commit.records.length === 0 && commit.appended.length === 0 && commit.statuses.length === 0)
      return;
    this.post({ kind: 'commit', from: this.tabId, origin, commit });
    if (origin !== this.tabId) this.commits.emit(commit);
  }

  private post(message: TabMessage): void {
    if (!this.closed) this.channel.postMessage(message);
  }

  /** A call on this adapter, made where the real one is. */
  private call(method: string, args: unknown[]): Promise<unknown> {
    return this.entry(() => this.route(method, args));
  }

  /** A call made where the real adapter is: here when leading, else on the leader. */
  private async route(method: string, args: unknown[], tx?: string): Promise<unknown> {
    if (this.closed) throw storageClosedError();
    await this.opened;
    await this.becoming;
    const message: CallMessage = {
      kind: 'call',
      from: this.tabId,
      to: this.leaderTab ?? '',
      id: this.nextId++,
      namespace: this.current,
      method,
      args,
      ...(tx !== undefined ? { tx } : {}),
    };
    if (this.leader) return this.serve(message);
    await this.untilLeaderKnown();
    message.to = this.leaderTab!;
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { message, resolve, reject });
      this.post(message);
    });
  }

  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    return this.entry(() => this.runTransaction(work));
  }

  private async runTransaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(work);
      } catch (error) {
        // Cut off by a handover before it committed: run it again with the next leader.
        const cutOff = error instanceof LeaderChanged || isTransactionGone(error);
        if (!cutOff || attempt >= 3) {
          if (cutOff) {
            throw new LocalFirstError(ERROR_CODES.storageFailure, 'the leading tab kept changing');
          }
          throw error;
        }
      }
    }
  }

  private async attempt<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    await this.opened;
    await this.becoming;
    if (this.leader) {
      const { value, commit } = await this.leader.transaction(this.current, work);
      this.announce(this.tabId, commit);
      return value;
    }
    const id = `${this.tabId}:${this.nextId++}`;
    await this.route('begin', [], id);
    // The tab it was opened on: once another leads, the transaction is gone with that one.
    const openedOn = this.leaderTab;
    let ended = false;
    const tx = forwardingTransaction(
      (method, args) => this.route(method, args, id),
      () => {
        if (this.leader || this.leaderTab !== openedOn) throw new LeaderChanged();
        return ended;
      },
    );
    let value: T;
    try {
      value = await work(tx);
    } catch (error) {
      ended = true;
      await this.route('abort', [], id).catch(() => undefined);
      throw error;
    }
    ended = true;
    if (this.leader || this.leaderTab !== openedOn) throw new LeaderChanged();
    await this.route('commit', [], id);
    return value;
  }

  async useNamespace(namespace: string): Promise<void> {
    if (this.closing) throw storageClosedError();
    // Each call carries its tab's namespace; the leader switches its store when it must.
    this.current = namespace;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // An open() still waiting for a leader gives up; calls made before this finish first.
    this.leaderFound();
    await this.opened?.catch(() => undefined);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const leader = this.leader;
    this.closed = true;
    clearInterval(this.helloTimer);
    this.channel.removeEventListener('message', this.onMessage);
    for (const pending of this.pending.values()) pending.reject(storageClosedError());
    this.pending.clear();
    this.leader = undefined;
    if (leader) {
      leader.abortAll();
      await leader.exclusive(this.current, (store) => store.close()).catch(() => undefined);
    }
    await this.leadership.stop();
    this.channel.close();
  }

  getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    return this.call('getRecord', [repository, id]) as Promise<StoredRecord | undefined>;
  }
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    return this.call('queryRecords', [repository, query]) as Promise<StoredRecord[]>;
  }
  getEvent(eventId: string): Promise<StoredEvent | undefined> {
    return this.call('getEvent', [eventId]) as Promise<StoredEvent | undefined>;
  }
  hasEvent(eventId: string): Promise<boolean> {
    return this.call('hasEvent', [eventId]) as Promise<boolean>;
  }
  getEvents(query?: EventQuery): Promise<StoredEvent[]> {
    return this.call('getEvents', query === undefined ? [] : [query]) as Promise<StoredEvent[]>;
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.call('getMeta', [key]) as Promise<string | undefined>;
  }
  async putRecord(repository: string, record: StoredRecord): Promise<void> {
    await this.transaction((tx) => tx.putRecord(repository, record));
  }
  async appendEvent(event: StoredEvent): Promise<void> {
    await this.transaction((tx) => tx.appendEvent(event));
  }
  async setEventStatus(
    eventIds: readonly string[],
    status: StoredEvent['syncStatus'],
  ): Promise<void> {
    await this.transaction((tx) => tx.setEventStatus(eventIds, status));
  }
  async setMeta(key: string, value: string | undefined): Promise<void> {
    await this.call('setMeta', [key, value]);
  }
  async clearRepository(repository: string): Promise<void> {
    await this.transaction((tx) => tx.clearRepository(repository));
  }
  async ensureIndexes(repository: string, fields: readonly string[]): Promise<void> {
    await this.call('ensureIndexes', [repository, fields]).catch((error: unknown) => {
      // An adapter without indexes has no such method: nothing to do.
      if (!(error instanceof LocalFirstError && error.code === ERROR_CODES.invalidArgument))
        throw error;
    });
  }
}

import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import {
  environmentLocks,
  StateSignal,
  type Subscribable,
  type WriterLocks,
} from '@local-first/core/adapter';
import { IndexedDbLease, type LeaseStore } from './lease.js';

/** The part of the Web Locks API (`navigator.locks`) that leadership uses (core's `WriterLocks`). */
export type LockManagerLike = WriterLocks;

/** The part of `BroadcastChannel` that leadership and the tab hub use. */
export interface ChannelLike {
  /** Sends a message to every other tab listening on the channel (never to itself). */
  postMessage(message: unknown): void;
  /** Listens for the messages of the other tabs. */
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** Stops listening. */
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** Leaves the channel. */
  close(): void;
}

/** Options of `TabLeadership`. */
export interface TabLeadershipOptions {
  /** What the tabs elect a leader for: one name per app and database. */
  name: string;
  /** This tab's id. Default: a random one. */
  tabId?: string;
  /**
   * The Web Locks API. Default `navigator.locks`; `null` forces the lease (the fallback where
   * Web Locks are missing, as on plain-http origins).
   */
  locks?: LockManagerLike | null;
  /** The lease of the fallback. Default: a record in IndexedDB (`IndexedDbLease`). */
  lease?: LeaseStore;
  /** Where a resigning leader tells the others, in the fallback. Default a BroadcastChannel. */
  channel?: ChannelLike;
  /** Fallback: how long a lease lasts unless renewed. Default 3,000 ms. */
  leaseMs?: number;
  /** Fallback: how often the leader renews and the others try to take over. Default 1,000 ms. */
  renewMs?: number;
  /** The clock of the lease. Default `Date.now`. */
  now?: () => number;
}

const RESIGNED = 'local-first:leader-resigned';

/**
 * Elects one leader among the tabs of an origin. With Web Locks, the leader is the tab that
 * holds an exclusive lock named after `name`; the browser hands it to the next waiting tab the
 * moment the leader's tab closes or crashes. Without them, the tabs take turns at a lease
 * (`LeaseStore`): the leader renews it every `renewMs`, another tab takes it once it has run
 * out (`leaseMs`), or at once when the leader announces that it resigned.
 */
export class TabLeadership {
  /** This tab's id in the election. */
  readonly tabId: string;
  private readonly leading = new StateSignal(false);
  private readonly locks: LockManagerLike | null;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly now: () => number;
  private lease: LeaseStore | undefined;
  private channel: ChannelLike | undefined;
  private started = false;
  private stopped = false;
  private release: (() => void) | undefined;
  private abort: AbortController | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private claiming: Promise<void> | undefined;
  /** A leader that said it resigned: the next claim may take the lease from it. */
  private resigned: string | undefined;

  constructor(private readonly options: TabLeadershipOptions) {
    if (typeof options?.name !== 'string' || options.name === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'TabLeadership needs a name');
    }
    this.tabId = options.tabId ?? randomTabId();
    this.locks = options.locks === undefined ? environmentLocks() : options.locks;
    this.leaseMs = options.leaseMs ?? 3_000;
    this.renewMs = options.renewMs ?? 1_000;
    this.now = options.now ?? Date.now;
    if (!(this.renewMs > 0 && this.leaseMs > this.renewMs)) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'leaseMs must be longer than renewMs, and both positive',
      );
    }
  }

  /** Whether this tab leads now. */
  get isLeader(): boolean {
    return this.leading.value;
  }

  /** Emits `true` when this tab becomes the leader and `false` when it stops being it. */
  get changes(): Subscribable<boolean> {
    return this.leading;
  }

  /** Which way this tab elects: `locks` (Web Locks) or `lease` (the fallback). */
  get mechanism(): 'locks' | 'lease' {
    return this.locks ? 'locks' : 'lease';
  }

  /** Joins the election; this tab leads when it is its turn. */
  start(): void {
    if (this.stopped) throw new LocalFirstError(ERROR_CODES.closed, 'this leadership was stopped');
    if (this.started) return;
    this.started = true;
    page()?.addEventListener('pagehide', this.onPageHide);
    if (this.locks) this.requestLock(this.locks);
    else this.joinLease();
  }

  /** Leaves the election, handing leadership over at once if this tab has it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    page()?.removeEventListener('pagehide', this.onPageHide);
    clearInterval(this.timer);
    this.abort?.abort();
    this.release?.();
    if (this.lease) {
      const lease = this.lease;
      this.leading.set(false);
      // Said first, in this task: a page that is going may not live to see its release land,
      // and the others may take the lease from a tab that said so.
      this.channel?.postMessage({ type: RESIGNED, tabId: this.tabId });
      // A claim under way may still win: give the lease up again once it is answered (never
      // waited for: a frozen store must not hold the page's shutdown).
      void this.claiming?.then(() => lease.release(this.tabId).catch(() => undefined));
      await lease.release(this.tabId).catch(() => undefined);
      this.channel?.close();
    } else this.leading.set(false);
  }

  /**
   * A page that goes for good resigns at once, before the app's own shutdown runs; one kept in
   * the back-forward cache may come back, and stays in the election.
   */
  private readonly onPageHide = (event: Event): void => {
    if (!(event as Event & { persisted?: boolean }).persisted) void this.stop();
  };

  private requestLock(locks: LockManagerLike): void {
    this.abort = new AbortController();
    locks
      .request(this.options.name, { mode: 'exclusive', signal: this.abort.signal }, () => {
        if (this.stopped) return Promise.resolve();
        this.leading.set(true);
        // Held until stop(); a closed or crashed tab loses it with its document.
        return new Promise<void>((resolve) => {
          this.release = resolve;
        });
      })
      .catch(() => undefined)
      .finally(() => this.leading.set(false));
  }

  private joinLease(): void {
    this.lease = this.options.lease ?? new IndexedDbLease(this.options.name);
    this.channel = this.options.channel ?? openChannel(`${this.options.name}:leadership`);
    this.channel?.addEventListener('message', (event) => {
      const data = event.data as { type?: string; tabId?: unknown } | null;
      if (data?.type !== RESIGNED) return;
      if (typeof data.tabId === 'string') this.resigned = data.tabId;
      this.tryLease();
    });
    this.tryLease();
    this.timer = setInterval(() => this.tryLease(), this.renewMs);
  }

  /** Takes or renews the lease; one attempt at a time (a resignation heard waits for the next). */
  private tryLease(): void {
    if (this.stopped || !this.lease) return;
    if (this.claiming) {
      if (this.resigned !== undefined) void this.claiming.then(() => this.tryLease());
      return;
    }
    const lease = this.lease;
    this.claiming = lease
      .claim(this.tabId, this.now() + this.leaseMs, this.now(), this.resigned)
      .then(
        (held) => {
          if (held) this.resigned = undefined;
          if (!this.stopped) this.leading.set(held);
        },
        () => {
          // A lease that cannot be read is not held: lead no more until it can be.
          if (!this.stopped) this.leading.set(false);
        },
      )
      .finally(() => {
        this.claiming = undefined;
      });
  }
}

/** The page's events, where there is a page. */
function page(): Pick<Window, 'addEventListener' | 'removeEventListener'> | undefined {
  const scope = globalThis as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>;
  return typeof scope.addEventListener === 'function' &&
    typeof scope.removeEventListener === 'function'
    ? (scope as Pick<Window, 'addEventListener' | 'removeEventListener'>)
    : undefined;
}

function openChannel(name: string): ChannelLike | undefined {
  return typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
}

function randomTabId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

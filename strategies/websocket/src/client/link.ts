import type { StoredEvent } from '@local-first/core';
import type {
  ClientMessage,
  StoredPosition,
  SyncHost,
  TransportConnection,
} from '@local-first/core/adapter';
import type { BatchLimits } from './frame-size.js';
import { Heartbeat } from './heartbeat.js';
import { type Batch, PushQueue } from './push-queue.js';
import { LiveReceipts } from './receipts.js';

type Timer = ReturnType<typeof setTimeout>;

/** A catch-up asked for on this link and not yet answered. */
export interface CatchUp {
  requestId: string;
  /** The cursor it was asked from: a log that ends before it was restored from an older copy. */
  afterSequence: number;
}

/** What a link needs from its strategy. */
export interface LinkOptions {
  /** The namespace whose credentials the link authenticates with. */
  namespace: string;
  /** The client, held to that namespace: every storage call of the link goes through it. */
  host: SyncHost;
  heartbeatInterval: number;
  pongTimeout: number;
  maxBatchesInFlight: number;
  /** The limits batches keep until the server announces its own. */
  limits: BatchLimits;
  sendBatch(link: Link, batch: Batch): void;
  refuse(link: Link, event: StoredEvent, bytes: number, limit: number): void;
  /** The heartbeat found the link dead. */
  onDead(link: Link): void;
  /** Handling a message failed (storage, most likely): the link is not to be trusted. */
  onFailure(link: Link, error: unknown): void;
}

/**
 * Everything that belongs to one connection: its namespace and host, queue, heartbeat, timers,
 * catch-ups and cursors. The strategy drops a link whole (`dispose`) when the connection ends, so nothing
 * of an old connection (a timer, a stale catch-up, a queued batch) can act on the next one:
 * each handler checks that its link is still the current one and not closed.
 */
export class Link {
  readonly queue: PushQueue;
  readonly receipts: LiveReceipts;
  readonly heartbeat: Heartbeat;
  authenticated = false;
  closed = false;
  /** True once the server echoed a request id: its answers can be matched to requests. */
  echoesRequestIds = false;
  limits: BatchLimits;
  /** Local writes made while the pending events are being read, to keep their order. */
  early: StoredEvent[] | undefined;
  readonly positions = new Map<string, StoredPosition>();
  readonly catchUps = new Map<string, CatchUp>();
  readonly caughtUp = new Set<string>();
  /** Repositories the server stopped letting this link read (`access_revoked`). */
  readonly revoked = new Set<string>();
  /** Failed attempts per repository's catch-up, for the backoff. */
  readonly catchUpAttempts = new Map<string, number>();
  /** Push errors since the last ack, for the backoff. */
  pushAttempts = 0;
  readonly authRequestId: string;
  readonly namespace: string;
  readonly host: SyncHost;
  private inbox: Promise<void> = Promise.resolve();
  private readonly timers = new Set<Timer>();
  private requests = 0;

  constructor(
    readonly connection: TransportConnection,
    private readonly options: LinkOptions,
  ) {
    this.limits = options.limits;
    this.namespace = options.namespace;
    this.host = options.host;
    this.authRequestId = this.nextRequestId();
    this.queue = new PushQueue({
      send: (batch) => options.sendBatch(this, batch),
      refuse: (event, bytes, limit) => options.refuse(this, event, bytes, limit),
      limits: () => this.limits,
      maxInFlight: options.maxBatchesInFlight,
      nextRequestId: () => this.nextRequestId(),
    });
    this.receipts = new LiveReceipts((message) => this.send(message));
    this.heartbeat = new Heartbeat(
      options.heartbeatInterval,
      options.pongTimeout,
      () => this.send({ type: 'ping' }),
      () => options.onDead(this),
    );
  }

  /** A request id unique on this link. */
  nextRequestId(): string {
    this.requests += 1;
    return this.requests.toString(36);
  }

  /** Sends if the link is still up; a connection that closed under us is the close's business. */
  send(message: ClientMessage): boolean {
    if (this.closed || !this.connection.isOpen) return false;
    try {
      this.connection.send(message);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs handlers one after another, in arrival order; a failure condemns the link. Tasks of a
   * link that was disposed meanwhile are skipped, unless `evenIfClosed`.
   */
  enqueue(task: () => Promise<void> | void, options: { evenIfClosed?: boolean } = {}): void {
    this.inbox = this.inbox
      .then(() => (this.closed && !options.evenIfClosed ? undefined : task()))
      .catch((error: unknown) => {
        if (!this.closed) this.options.onFailure(this, error);
      });
  }

  /** A timer that dies with the link. */
  after(delay: number, run: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) run();
    }, delay);
    this.timers.add(timer);
  }

  /** Ends everything of this link; closes the connection if it is still open. */
  dispose(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.authenticated = false;
    this.heartbeat.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
    this.receipts.clear();
    this.early = undefined;
    this.catchUps.clear();
    this.caughtUp.clear();
    this.revoked.clear();
    if (code !== undefined && this.connection.isOpen) {
      try {
        this.connection.close(code, reason);
      } catch {
        // Closing a connection that is already going away changes nothing.
      }
    }
  }
}

import { ERROR_CODES, LocalFirstError, type Unsubscribe, uuidv7 } from '@local-first/core';
import {
  Emitter,
  type Fanout,
  type FanoutAnnouncement,
  type FanoutMissCause,
} from '@local-first/core/adapter';

/**
 * The channel of several `MemoryFanout` nodes in one process: for tests of servers with more
 * than one engine, and to see what an engine does when announcements are lost. Notices reach
 * the other open nodes asynchronously (in a microtask), in the order they were announced.
 */
export class MemoryFanoutHub {
  private readonly members = new Set<MemoryFanout>();

  /**
   * @param options.onListenerError hears of a listener that threw (the other listeners are
   *   called all the same). Default: `console.error`.
   */
  constructor(private readonly options: { onListenerError?: (error: unknown) => void } = {}) {}

  /** A new node on this hub, not opened yet. */
  node(options: { node?: string } = {}): MemoryFanout {
    return new MemoryFanout(this, options.node ?? uuidv7(), this.options.onListenerError);
  }

  /**
   * Cuts a node's listening side: what is announced meanwhile never reaches it. `restore`
   * brings it back, and it reports `onMissed('reconnect')`.
   */
  cut(fanout: MemoryFanout): void {
    fanout.down = true;
  }

  /** Ends a `cut`: the node hears again, and first reports that it may have missed notices. */
  restore(fanout: MemoryFanout): void {
    if (!fanout.down) return;
    fanout.down = false;
    fanout.missed('reconnect');
  }

  /** `cut`, then `restore` on the next turn of the event loop, as a dropped link that comes back. */
  async interrupt(fanout: MemoryFanout): Promise<void> {
    this.cut(fanout);
    setTimeout(() => this.restore(fanout), 0);
  }

  /** @internal */
  join(fanout: MemoryFanout): void {
    this.members.add(fanout);
  }

  /** @internal */
  leave(fanout: MemoryFanout): void {
    this.members.delete(fanout);
  }

  /** @internal */
  send(announcement: FanoutAnnouncement): void {
    const receivers = [...this.members].filter(
      (member) => member.node !== announcement.node && !member.down,
    );
    queueMicrotask(() => {
      for (const receiver of receivers) receiver.hear({ ...announcement });
    });
  }
}

/** One node of a `MemoryFanoutHub`: the in-process `Fanout`. */
export class MemoryFanout implements Fanout {
  /** @internal True while the hub keeps notices from this node (`cut`). */
  down = false;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly announcements: Emitter<FanoutAnnouncement>;
  private readonly misses: Emitter<FanoutMissCause>;

  constructor(
    private readonly hub: MemoryFanoutHub,
    /** This node's id; its own announcements are not delivered to it. */
    readonly node: string,
    onListenerError?: (error: unknown) => void,
  ) {
    this.announcements = new Emitter(onListenerError);
    this.misses = new Emitter(onListenerError);
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw closedError();
    this.state = 'open';
    this.hub.join(this);
  }

  async announce(repository: string, lastSequence: number): Promise<void> {
    if (this.state === 'closed') throw closedError();
    if (this.state === 'new') {
      throw new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the fan-out first');
    }
    if (!Number.isSafeInteger(lastSequence) || lastSequence < 0) {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'lastSequence must be 0 or more');
    }
    this.hub.send({ repository, lastSequence, node: this.node });
  }

  onAnnouncement(listener: (announcement: FanoutAnnouncement) => void): Unsubscribe {
    return this.announcements.subscribe(listener);
  }

  onMissed(listener: (cause: FanoutMissCause) => void): Unsubscribe {
    return this.misses.subscribe(listener);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.hub.leave(this);
    this.announcements.clear();
    this.misses.clear();
  }

  /** @internal */
  hear(announcement: FanoutAnnouncement): void {
    if (this.state === 'open' && !this.down) this.announcements.emit(announcement);
  }

  /** @internal */
  missed(cause: FanoutMissCause): void {
    if (this.state === 'open') this.misses.emit(cause);
  }
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the fan-out is closed');
}

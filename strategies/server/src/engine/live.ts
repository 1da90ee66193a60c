import type { EventsMessage, ServerEvent } from '@local-first/core/adapter';

/** One connection as the live broadcast sees it (a `Session`); repositories by stored name. */
export interface LiveReader {
  readonly user: unknown;
  mayReadNow(stored: string): boolean | undefined;
  mayRead(stored: string): Promise<boolean>;
  sendLive(message: EventsMessage): boolean;
}

/** What the broadcast needs of the engine. */
export interface LiveHost<Reader extends LiveReader> {
  readers(): Iterable<Reader>;
  /** The name readers know a stored repository by (its owner's name for a private copy). */
  nameOf(stored: string): string;
  /** The epoch that the messages of a repository carry; undefined when it cannot be read. */
  epochOf(repository: string): Promise<string | undefined>;
  /** Largest events per message and UTF-8 bytes per message (`maxBatchEvents`, `maxFrameBytes`). */
  readonly maxEvents: number;
  readonly maxBytes: number;
  /** Told how many events went to how many readers. */
  sent(repository: string, events: number, readers: number): void;
  failed(error: unknown, repository: string): void;
}

interface Part<Reader> {
  events: ServerEvent[];
  origin: Reader | undefined;
}

interface Pending<Reader> {
  parts: Part<Reader>[];
  done: Promise<void>;
  resolve(): void;
}

/**
 * Runs `work` once the current task and every promise reaction it set off have run: a tick
 * queued from a promise reaction runs only after the whole microtask queue has drained. The
 * pushes of one group commit all finish in the task that delivers the commit, so they are all
 * in by then. (Ticks are not faked by test timers, and nothing waits for a timer.)
 */
function nextTurn(work: () => void): void {
  process.nextTick(work);
}

/** Room left in a frame for the message's own fields (type, repository, epoch, lastSequence). */
const ENVELOPE_BYTES = 512;

/**
 * Live broadcasts, gathered per repository over one task of the event loop (with the promise
 * reactions it sets off) and sent at its end. The pushes of one group commit finish in the
 * same task, so a reader gets their events as one `events` message (or a few, each within
 * `maxEvents` and `maxBytes`) instead of one message per push: fewer frames for the server to
 * write and for every client to read, and one encoding of each message for all its readers.
 *
 * A connection never gets its own events back (it gets its `ack`): a reader that pushed in the
 * task gets the others' events only. `broadcast` resolves once the events have been sent to
 * the readers whose permission is known, so the engine sends the pusher's `ack` after them.
 */
export class LiveBroadcast<Reader extends LiveReader> {
  private pending = new Map<string, Pending<Reader>>();
  private scheduled = false;

  constructor(private readonly host: LiveHost<Reader>) {}

  broadcast(repository: string, events: ServerEvent[], origin: Reader | undefined): Promise<void> {
    let entry = this.pending.get(repository);
    if (!entry) {
      let resolve!: () => void;
      const done = new Promise<void>((settle) => {
        resolve = settle;
      });
      entry = { parts: [], done, resolve };
      this.pending.set(repository, entry);
    }
    entry.parts.push({ events, origin });
    if (!this.scheduled) {
      this.scheduled = true;
      nextTurn(() => this.flush());
    }
    return entry.done;
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [repository, entry] of pending) {
      this.send(repository, entry.parts).then(entry.resolve, (error: unknown) => {
        this.host.failed(error, repository);
        entry.resolve();
      });
    }
  }

  private async send(repository: string, parts: Part<Reader>[]): Promise<void> {
    const epoch = await this.host.epochOf(repository);
    const name = this.host.nameOf(repository);
    const message = (events: ServerEvent[]): EventsMessage => ({
      type: 'events',
      repository: name,
      events,
      lastSequence: events[events.length - 1]!.serverSequence,
      ...(epoch === undefined ? {} : { epoch }),
    });
    // Planned only once someone is to get the events: a push nobody else reads costs nothing.
    let planned: { plan: Plan<Reader>; everything: EventsMessage[]; blocks: EventsMessage[] };
    const prepared = () => {
      if (!planned) {
        const plan = this.plan(parts);
        planned = { plan, everything: plan.full.map(message), blocks: plan.blocks.map(message) };
      }
      return planned;
    };
    const origins = new Set<Reader>();
    for (const part of parts) if (part.origin) origins.add(part.origin);
    let readers = 0;
    // Everyone but the pushers: the same message objects for all, so each is encoded once.
    for (const reader of this.host.readers()) {
      if (!reader.user || origins.has(reader) || reader.mayReadNow(repository) === false) continue;
      if (this.deliver(reader, repository, prepared().everything)) readers += 1;
    }
    // A pusher gets the blocks without its events as they are, and the others' events of
    // the blocks that hold its own.
    for (const origin of origins) {
      if (!origin.user || !parts.some((part) => part.origin !== origin)) continue;
      const { plan, blocks } = prepared();
      const own = plan.ownBlocks.get(origin)!;
      const messages: EventsMessage[] = [];
      for (const [index, block] of plan.blocks.entries()) {
        if (!own.has(index)) messages.push(blocks[index]!);
        else {
          const others = block.filter((event) => plan.originOf.get(event) !== origin);
          if (others.length > 0) messages.push(message(others));
        }
      }
      if (messages.length > 0 && this.deliver(origin, repository, messages)) readers += 1;
    }
    const events = parts.reduce((sum, part) => sum + part.events.length, 0);
    this.host.sent(repository, events, readers);
  }

  /** Sends to a reader whose permission is known now, or once it is known. */
  private deliver(reader: Reader, repository: string, messages: EventsMessage[]): boolean {
    const allowed = reader.mayReadNow(repository);
    if (allowed === true) return sendAll(reader, messages);
    if (allowed === undefined) {
      reader.mayRead(repository).then(
        (may) => {
          if (may && sendAll(reader, messages)) {
            const count = messages.reduce((sum, message) => sum + message.events.length, 0);
            this.host.sent(repository, count, 1);
          }
        },
        (error: unknown) => this.host.failed(error, repository),
      );
    }
    return false;
  }

  /**
   * How the parts' events go out, in sequence order. `full`: all of them, in batches within the
   * limits (a single part stays one batch, as its push was one frame). `blocks`: the same, in
   * batches of about √n events, for the pushers: each gets the blocks without its own events as
   * they are, so the per-pusher work is one block, not every event.
   */
  private plan(parts: Part<Reader>[]): Plan<Reader> {
    const originOf = new Map<ServerEvent, Reader>();
    const ownBlocks = new Map<Reader, Set<number>>();
    if (parts.length === 1) {
      const [{ events, origin }] = parts as [Part<Reader>];
      if (origin) ownBlocks.set(origin, new Set([0]));
      for (const event of events) if (origin) originOf.set(event, origin);
      return { full: [events], blocks: [events], originOf, ownBlocks };
    }
    for (const { events, origin } of parts) {
      if (!origin) continue;
      if (!ownBlocks.has(origin)) ownBlocks.set(origin, new Set());
      for (const event of events) originOf.set(event, origin);
    }
    const sorted = parts.flatMap((part) => part.events);
    sorted.sort((a, b) => a.serverSequence - b.serverSequence);
    const sizes = sorted.map((event) => Buffer.byteLength(JSON.stringify(event)) + 1);
    const budget = this.host.maxBytes - ENVELOPE_BYTES;
    const full = batches(sorted, sizes, this.host.maxEvents, budget);
    const perBlock = Math.max(4, Math.ceil(Math.sqrt(sorted.length)));
    const blocks = batches(sorted, sizes, Math.min(perBlock, this.host.maxEvents), budget);
    for (const [index, block] of blocks.entries()) {
      for (const event of block) {
        const origin = originOf.get(event);
        if (origin) ownBlocks.get(origin)!.add(index);
      }
    }
    return { full, blocks, originOf, ownBlocks };
  }
}

interface Plan<Reader> {
  full: ServerEvent[][];
  blocks: ServerEvent[][];
  originOf: Map<ServerEvent, Reader>;
  /** Each pusher of the task, and the blocks that hold its events. */
  ownBlocks: Map<Reader, Set<number>>;
}

/** Consecutive runs of at most `maxEvents` events and `maxBytes` bytes (at least one event). */
function batches(
  events: ServerEvent[],
  sizes: number[],
  maxEvents: number,
  maxBytes: number,
): ServerEvent[][] {
  const result: ServerEvent[][] = [];
  let batch: ServerEvent[] = [];
  let bytes = 0;
  for (const [index, event] of events.entries()) {
    const size = sizes[index]!;
    if (batch.length > 0 && (batch.length >= maxEvents || bytes + size > maxBytes)) {
      result.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) result.push(batch);
  return result;
}

function sendAll(reader: LiveReader, messages: EventsMessage[]): boolean {
  let sent = false;
  for (const message of messages) sent = reader.sendLive(message) || sent;
  return sent;
}

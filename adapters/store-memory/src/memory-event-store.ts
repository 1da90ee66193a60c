import {
  ERROR_CODES,
  type EventStore,
  LocalFirstError,
  type SyncEvent,
  uuidv7,
} from '@local-first/core';
import {
  type AppendOutcome,
  checkLimit,
  checkSequence,
  compareCodePoints,
  decodeStoredEvent,
  type EventPage,
  encodeStoredEvent,
  parseSince,
} from '@local-first/core/adapter';

/** Options of `MemoryEventStore`. */
export interface MemoryEventStoreOptions {
  /** The server clock that stamps `serverCreatedAt`. Default: the system clock. */
  now?: () => Date;
}

/** One stored event. The payload is the client's JSON, so no caller can mutate what is stored. */
interface Entry {
  payload: string;
  createdAtMs: number;
}

/** One repository's stream: `entries[i]` holds sequence `i + 1`. */
interface Stream {
  entries: Entry[];
  sequences: Map<string, number>;
}

/**
 * Keeps every repository's events in arrays: complete, fast, and gone with the process. It is
 * the reference implementation of the `EventStore` contract; `append` runs in one synchronous
 * step, so no reader ever sees half a batch and sequences follow append order.
 *
 * Events are kept as JSON text, exactly as the client sent them apart from the two server
 * fields; unknown extra fields survive, `undefined` values do not (as on the wire).
 * `serverCreatedAt` never decreases along a repository's sequence: a clock that steps back is
 * clamped to the last stamp, so reading since a time and then after a sequence agree.
 *
 * The store's id and its epoch (one for every repository) are made when it is constructed, so a
 * new process always starts a new epoch: its empty log is not the one clients have seen.
 */
export class MemoryEventStore implements EventStore {
  readonly kind = 'memory';
  private readonly now: () => Date;
  private readonly streams = new Map<string, Stream>();
  private readonly id = uuidv7();
  private currentEpoch = uuidv7();
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: MemoryEventStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw closedError();
    this.state = 'open';
  }

  async append(repository: string, events: readonly SyncEvent[]): Promise<AppendOutcome[]> {
    this.ready();
    if (events.length === 0) return [];
    // Encode everything first: an event that cannot be stored must leave nothing written.
    const payloads = events.map(encodeStoredEvent);
    const stream: Stream = this.streams.get(repository) ?? { entries: [], sequences: new Map() };
    const lastCreatedAtMs = stream.entries.at(-1)?.createdAtMs ?? Number.NEGATIVE_INFINITY;
    const createdAtMs = Math.max(this.now().getTime(), lastCreatedAtMs);
    const serverCreatedAt = new Date(createdAtMs).toISOString();
    const outcomes = events.map((event, index): AppendOutcome => {
      const held = heldOutcome(stream, event.eventId);
      if (held) return held;
      stream.entries.push({ payload: payloads[index]!, createdAtMs });
      const serverSequence = stream.entries.length;
      stream.sequences.set(event.eventId, serverSequence);
      return { eventId: event.eventId, serverSequence, serverCreatedAt, duplicate: false };
    });
    this.streams.set(repository, stream);
    return outcomes;
  }

  async findEvents(repository: string, eventIds: readonly string[]): Promise<AppendOutcome[]> {
    this.ready();
    const stream = this.streams.get(repository);
    if (!stream) return [];
    const outcomes: AppendOutcome[] = [];
    for (const eventId of new Set(eventIds)) {
      const held = heldOutcome(stream, eventId);
      if (held) outcomes.push(held);
    }
    return outcomes;
  }

  async readAfter(repository: string, afterSequence: number, limit: number): Promise<EventPage> {
    this.ready();
    checkSequence(afterSequence);
    checkLimit(limit);
    return this.page(this.streams.get(repository)?.entries ?? [], afterSequence, limit);
  }

  async readSince(repository: string, since: string, limit: number): Promise<EventPage> {
    this.ready();
    const sinceMs = parseSince(since);
    checkLimit(limit);
    const entries = this.streams.get(repository)?.entries ?? [];
    // Stamps never decrease along the stream, so the first match is found by bisection and
    // everything after it matches too.
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (entries[middle]!.createdAtMs < sinceMs) low = middle + 1;
      else high = middle;
    }
    return this.page(entries, low, limit);
  }

  async lastSequence(repository: string): Promise<number> {
    this.ready();
    return this.streams.get(repository)?.entries.length ?? 0;
  }

  async listRepositories(): Promise<string[]> {
    this.ready();
    return [...this.streams.keys()].sort(compareCodePoints);
  }

  /** The epoch of every repository: one per store, since the whole store goes when the process does. */
  async epoch(_repository: string): Promise<string> {
    this.ready();
    return this.currentEpoch;
  }

  async newEpoch(): Promise<string> {
    this.ready();
    this.currentEpoch = uuidv7();
    return this.currentEpoch;
  }

  async storeId(): Promise<string> {
    this.ready();
    return this.id;
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  private page(entries: readonly Entry[], afterSequence: number, limit: number): EventPage {
    const slice = entries.slice(afterSequence, afterSequence + limit);
    const events = slice.map((entry, index) =>
      decodeStoredEvent(entry.payload, afterSequence + index + 1, entry.createdAtMs),
    );
    return {
      events,
      hasMore: afterSequence + slice.length < entries.length,
      // A cursor past the end names the end instead: the caller has seen more than is here.
      lastSequence: Math.min(afterSequence, entries.length) + slice.length,
    };
  }

  private ready(): void {
    if (this.state === 'open') return;
    if (this.state === 'closed') throw closedError();
    throw new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the event store first');
  }
}

/** The outcome of an event the stream already holds, as its first commit stored it. */
function heldOutcome(stream: Stream, eventId: string): AppendOutcome | undefined {
  const serverSequence = stream.sequences.get(eventId);
  if (serverSequence === undefined) return undefined;
  const createdAtMs = stream.entries[serverSequence - 1]!.createdAtMs;
  return {
    eventId,
    serverSequence,
    serverCreatedAt: new Date(createdAtMs).toISOString(),
    duplicate: true,
  };
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the event store is closed');
}

import { Buffer } from 'node:buffer';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
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
  storageFailure,
} from '@local-first/core/adapter';

/** Options of `JsonLinesEventStore`. */
export interface JsonLinesEventStoreOptions {
  /**
   * The log file, made on the first `open()` (its folder must exist). One store per file: two
   * stores, or two processes, must never have the same file open at once.
   */
  path: string;
  /** The server clock that stamps `serverCreatedAt`. Default: the system clock. */
  now?: () => Date;
}

/**
 * The lines of the file, one JSON object each. The first names the store; a commit line holds
 * the new events of one `append`, so a torn last line loses one whole append, never half.
 */
type Line =
  | { type: 'store'; storeId: string; epoch: string }
  | { type: 'epoch'; epoch: string }
  | { type: 'commit'; repository: string; at: number; events: SyncEvent[] };

/** One stored event: the client's JSON, and the server time of its commit. */
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
 * An `EventStore` on one append-only JSON-lines file. `open()` reads the whole file into
 * memory; each `append` writes one line, flushes it to the disk, and only then lets readers
 * see its events, so whatever a reader got is durable. Appends run one at a time, in call
 * order, which makes sequences follow commit order; reads do not wait for them.
 *
 * The store's id and its epoch are written in the first line when the file is made, so a
 * deleted or new file is a new epoch, and `newEpoch()` appends a line with the next one.
 * `serverCreatedAt` never decreases along a repository: a clock that steps back is clamped
 * to the last stamp, across a restart too.
 */
export class JsonLinesEventStore implements EventStore {
  readonly kind = 'json-lines';
  private readonly path: string;
  private readonly now: () => Date;
  private readonly streams = new Map<string, Stream>();
  private state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  private file: FileHandle | undefined;
  /** Bytes of the file that hold whole lines; a failed write is cut back to this. */
  private size = 0;
  private id = '';
  private currentEpoch = '';
  /** The last write queued: appends and epoch changes wait here for the one before. */
  private tail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(options: JsonLinesEventStoreOptions) {
    if (typeof options?.path !== 'string' || options.path === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'options.path is required');
    }
    this.path = options.path;
    this.now = options.now ?? (() => new Date());
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw closedError();
    if (this.state !== 'new') return;
    this.state = 'opening';
    try {
      const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      // A line counts only with its newline: a crash during an append leaves a torn last
      // line, and that append never resolved, so it is dropped.
      const whole = text.slice(0, text.lastIndexOf('\n') + 1);
      const lines = whole.split('\n').slice(0, -1);
      for (const [index, line] of lines.entries()) this.load(line, index);
      this.file = await open(this.path, 'a');
      this.size = Buffer.byteLength(whole);
      if (whole.length < text.length) await this.file.truncate(this.size);
      if (this.id === '') {
        const header = { type: 'store', storeId: uuidv7(), epoch: uuidv7() } as const;
        await this.writeLine(header);
        // A new file: its name in the folder must be durable too, or a power cut loses it all.
        await syncFolder(dirname(this.path));
        this.id = header.storeId;
        this.currentEpoch = header.epoch;
      }
    } catch (error) {
      await this.release();
      if (this.state === 'opening') this.state = 'new';
      throw storageFailure(`could not open the event log ${this.path}`, error);
    }
    if (this.isClosed()) {
      // close() was called while the file was being read.
      await this.release();
      throw closedError();
    }
    this.state = 'open';
  }

  async append(repository: string, events: readonly SyncEvent[]): Promise<AppendOutcome[]> {
    this.ready();
    if (events.length === 0) return [];
    // Encoded first: an event that cannot be stored fails the append before anything is written.
    const payloads = events.map(encodeStoredEvent);
    return this.serially(() => this.commit(repository, events, payloads));
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
    return page(this.streams.get(repository)?.entries ?? [], afterSequence, limit);
  }

  async readSince(repository: string, since: string, limit: number): Promise<EventPage> {
    this.ready();
    const sinceMs = parseSince(since);
    checkLimit(limit);
    const entries = this.streams.get(repository)?.entries ?? [];
    // Stamps never decrease along a stream: everything after the first match matches too.
    const first = entries.findIndex((entry) => entry.createdAtMs >= sinceMs);
    return page(entries, first === -1 ? entries.length : first, limit);
  }

  async lastSequence(repository: string): Promise<number> {
    this.ready();
    return this.streams.get(repository)?.entries.length ?? 0;
  }

  async listRepositories(): Promise<string[]> {
    this.ready();
    return [...this.streams.keys()].sort(compareCodePoints);
  }

  /** One epoch for every repository of the file. */
  async epoch(_repository: string): Promise<string> {
    this.ready();
    return this.currentEpoch;
  }

  async newEpoch(): Promise<string> {
    this.ready();
    return this.serially(async () => {
      const epoch = uuidv7();
      await this.writeLine({ type: 'epoch', epoch });
      this.currentEpoch = epoch;
      return epoch;
    });
  }

  async storeId(): Promise<string> {
    this.ready();
    return this.id;
  }

  close(): Promise<void> {
    // Refuse new calls at once; the writes queued before still finish, then the file closes.
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.closing ??= wasOpen ? this.tail.then(() => this.release()) : Promise.resolve();
    return this.closing;
  }

  private async release(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    this.streams.clear();
    this.id = '';
    await file?.close();
  }

  /** Numbers the new events of one append, writes them as one line, then shows them. */
  private async commit(
    repository: string,
    events: readonly SyncEvent[],
    payloads: readonly string[],
  ): Promise<AppendOutcome[]> {
    const stream: Stream = this.streams.get(repository) ?? { entries: [], sequences: new Map() };
    const lastMs = stream.entries.at(-1)?.createdAtMs ?? Number.NEGATIVE_INFINITY;
    const createdAtMs = Math.max(this.now().getTime(), lastMs);
    const serverCreatedAt = new Date(createdAtMs).toISOString();
    const added = new Map<string, number>();
    const fresh: string[] = [];
    const outcomes = events.map(({ eventId }, index): AppendOutcome => {
      const held = heldOutcome(stream, eventId);
      if (held) return held;
      // A repeat inside the batch is a duplicate of its first occurrence.
      const first = added.get(eventId);
      if (first !== undefined) {
        return { eventId, serverSequence: first, serverCreatedAt, duplicate: true };
      }
      const serverSequence = stream.entries.length + added.size + 1;
      added.set(eventId, serverSequence);
      fresh.push(payloads[index]!);
      return { eventId, serverSequence, serverCreatedAt, duplicate: false };
    });
    if (added.size === 0) return outcomes;
    await this.writeText(
      `{"type":"commit","repository":${JSON.stringify(repository)},"at":${createdAtMs},` +
        `"events":[${fresh.join(',')}]}\n`,
    );
    for (const payload of fresh) stream.entries.push({ payload, createdAtMs });
    for (const [eventId, serverSequence] of added) stream.sequences.set(eventId, serverSequence);
    this.streams.set(repository, stream);
    return outcomes;
  }

  /** Applies one line of the file to the state in memory. */
  private load(text: string, index: number): void {
    const line = JSON.parse(text) as Line;
    if (index === 0 && line.type !== 'store') throw new Error('the first line must name the store');
    if (line.type === 'store') {
      this.id = line.storeId;
      this.currentEpoch = line.epoch;
    } else if (line.type === 'epoch') {
      this.currentEpoch = line.epoch;
    } else if (line.type === 'commit') {
      const stream: Stream = this.streams.get(line.repository) ?? {
        entries: [],
        sequences: new Map(),
      };
      for (const event of line.events) {
        stream.entries.push({ payload: JSON.stringify(event), createdAtMs: line.at });
        stream.sequences.set(event.eventId, stream.entries.length);
      }
      this.streams.set(line.repository, stream);
    } else {
      throw new Error(`line ${index + 1} has an unknown type`);
    }
  }

  private writeLine(line: Line): Promise<void> {
    return this.writeText(`${JSON.stringify(line)}\n`);
  }

  /** Appends text and flushes it to the disk; on failure, cuts the file back to whole lines. */
  private async writeText(text: string): Promise<void> {
    const file = this.file!;
    try {
      await file.appendFile(text, 'utf8');
      await file.datasync();
      this.size += Buffer.byteLength(text);
    } catch (error) {
      await file.truncate(this.size).catch(() => undefined);
      throw storageFailure(`could not append to ${this.path}`, error);
    }
  }

  /** Runs `work` after every write queued before it. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** A method, not a field read, so TypeScript does not narrow `state` across an await. */
  private isClosed(): boolean {
    return this.state === 'closed';
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
  const { createdAtMs } = stream.entries[serverSequence - 1]!;
  return {
    eventId,
    serverSequence,
    serverCreatedAt: new Date(createdAtMs).toISOString(),
    duplicate: true,
  };
}

/** Up to `limit` entries after position `after` (a sequence), as the contract's page. */
function page(entries: readonly Entry[], after: number, limit: number): EventPage {
  const slice = entries.slice(after, after + limit);
  return {
    events: slice.map((entry, index) =>
      decodeStoredEvent(entry.payload, after + index + 1, entry.createdAtMs),
    ),
    hasMore: after + slice.length < entries.length,
    // A cursor past the end names the end instead: the caller has seen more than is here.
    lastSequence: Math.min(after, entries.length) + slice.length,
  };
}

/** Makes a new file's name durable. Some platforms (Windows) cannot sync a folder: skipped. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  try {
    await handle?.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

function closedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the event store is closed');
}

import type { SyncEvent } from './model.js';

/** An event as the server holds it: both server fields are always set. */
export interface ServerEvent extends SyncEvent {
  serverSequence: number;
  serverCreatedAt: string;
}

/** The outcome of appending one event. */
export interface AppendOutcome {
  /** The event this outcome is for. */
  eventId: string;
  /** The sequence of the stored event; for a duplicate, the sequence it got the first time. */
  serverSequence: number;
  /** The server time of the commit that stored it (the first commit, for a duplicate). */
  serverCreatedAt: string;
  /** True when the event was already stored and nothing was written. */
  duplicate: boolean;
}

/** A page of a repository's events. */
export interface EventPage {
  /** The events, ascending by sequence. */
  events: ServerEvent[];
  /** True when more events follow the last one of the page. */
  hasMore: boolean;
  /**
   * The sequence of the last event of the page. For an empty `readAfter` page, the cursor asked
   * for, or the repository's highest sequence when that is lower (the log holds less than the
   * caller has seen: it was restored or wiped); for an empty `readSince` page, the highest
   * sequence older than `since`. So at the end of a read, it never exceeds what the log holds.
   */
  lastSequence: number;
}

/**
 * The server's durable event log, one ordered stream per repository. Implementations must
 * guarantee: each eventId is stored once per repository (a duplicate append returns the
 * original sequence); sequences are strictly increasing in commit order and never reused, so
 * a reader tailing with `readAfter` never skips an event; `append` resolves only after the
 * events are durably committed; `serverCreatedAt` never decreases along a repository's
 * sequence. Events are kept as the client sent them, unknown fields included; only the two
 * server fields are set (or overwritten). Bad arguments fail with `invalid_argument`, calls
 * before `open()` with `not_initialized`, after `close()` with `closed`; closing twice is
 * harmless. The optional members are capabilities: a store that lacks one simply does not
 * offer it (a sync server then sends no `epoch` and no default `serverId`, and without
 * `findEvents` it cannot tell a re-sent event it holds from a new one before judging it).
 */
export interface EventStore {
  /** A short name for health output and logs (`sqlite`, `postgres`, `memory`). */
  readonly kind: string;
  /** Prepares the schema; must be called once before anything else. */
  open(): Promise<void>;
  /** Appends events to a repository in the given order, in one commit. */
  append(repository: string, events: readonly SyncEvent[]): Promise<AppendOutcome[]>;
  /** Events with `serverSequence > afterSequence`, ascending, at most `limit`. */
  readAfter(repository: string, afterSequence: number, limit: number): Promise<EventPage>;
  /** Events with `serverCreatedAt >= since` (server clock), ascending by sequence, at most `limit`. */
  readSince(repository: string, since: string, limit: number): Promise<EventPage>;
  /** The highest sequence of a repository, 0 when it is empty. */
  lastSequence(repository: string): Promise<number>;
  /** Names of the repositories that hold events. */
  listRepositories(): Promise<string[]>;
  /** Capability: outcomes of the `eventIds` already held (`duplicate: true`), each once, any order; without it a server may reject a re-sent event it holds. */
  findEvents?(repository: string, eventIds: readonly string[]): Promise<AppendOutcome[]>;
  /** Capability: names the repository's log; changes only when the log is recreated or `newEpoch()` is called. */
  epoch?(repository: string): Promise<string>;
  /** Capability: gives the store a new epoch, for an operator who restored an old backup; resolves to it. */
  newEpoch?(): Promise<string>;
  /** Capability: a stable id made when the store's schema was first created (a sync server's default `serverId`). */
  storeId?(): Promise<string>;
  /** Releases connections and files. */
  close(): Promise<void>;
}

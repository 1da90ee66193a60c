import type { EventStore, Logger, Unsubscribe } from '@local-first/core';
import type {
  AppendOutcome,
  Fanout,
  FanoutAnnouncement,
  ServerEvent,
} from '@local-first/core/adapter';
import { Coverage } from './coverage.js';
import type { SyncLimits } from './options.js';

/** What the relay needs of its engine. */
export interface RelayHost<Origin> {
  readonly store: EventStore;
  readonly limits: Readonly<SyncLimits>;
  readonly logger: Logger;
  /** Sends events to every reader of the engine but `origin`, like a local broadcast. */
  broadcast(repository: string, events: ServerEvent[], origin: Origin | undefined): Promise<void>;
  /** The repositories that some open connection reads (or asked to). */
  readRepositories(): Set<string>;
}

/** A local push in flight: its eventIds, so a read of the log never echoes them to its origin. */
export interface PushTicket {
  repository: string;
  eventIds: string[];
}

interface InFlight<Origin> {
  origin: Origin | undefined;
  /** True until the push has broadcast; after that, only a repair read of a duplicate uses it. */
  pushing: boolean;
}

/** What a node knows of one repository that its readers follow. */
interface Tail {
  coverage: Coverage;
  /** The highest sequence announced by any node, this one included, that this node heard of. */
  heard: number;
  reading: boolean;
  again: boolean;
  retry: ReturnType<typeof setTimeout> | undefined;
  /** Events that a read broadcast while their own push was still in flight, by eventId. */
  relayed: Set<string>;
}

/**
 * Relays other nodes' commits to this engine's readers. After a local commit it announces the
 * repository's new end; when another node announces, it reads the log from the highest
 * sequence below which this node has broadcast everything, and broadcasts what it has not.
 * Reads are one at a time per repository: announcements that arrive meanwhile are folded into
 * one more read, and every read goes page by page (`maxPageEvents`).
 *
 * A repository is followed from the first catch-up of it on this node (from the log's end at
 * that moment, which the catch-up itself then covers) or from its first local commit. Readers
 * of a repository that nobody here has caught up get its local events only, and the rest at
 * their catch-up, as the protocol has every client do after `auth_success`.
 */
export class FanoutRelay<Origin> {
  private readonly tails = new Map<string, Tail>();
  private readonly inFlight = new Map<string, Map<string, InFlight<Origin>>>();
  private readonly stops: Unsubscribe[];
  private closed = false;

  constructor(
    private readonly host: RelayHost<Origin>,
    private readonly fanout: Fanout,
  ) {
    this.stops = [fanout.onAnnouncement((announcement) => this.heard(announcement))];
    if (fanout.onMissed) this.stops.push(fanout.onMissed(() => this.repair()));
  }

  /**
   * Called before a catch-up of `repository` reads the log: from then on, this node follows it.
   * The end is read before the catch-up's first page, so the catch-up covers what lies below it.
   */
  async follow(repository: string): Promise<void> {
    if (this.closed || this.tails.has(repository)) return;
    const end = await this.host.store.lastSequence(repository);
    if (!this.closed && !this.tails.has(repository)) this.tails.set(repository, newTail(end));
  }

  /** Registers the eventIds of a push before its append, with the connection that sent them. */
  beginPush(repository: string, eventIds: string[], origin: Origin | undefined): PushTicket {
    let pending = this.inFlight.get(repository);
    if (!pending) {
      pending = new Map();
      this.inFlight.set(repository, pending);
    }
    for (const eventId of eventIds) pending.set(eventId, { origin, pushing: true });
    return { repository, eventIds };
  }

  /**
   * After a push committed: announces it, and returns which of its new events the push must
   * broadcast (those that a read has not broadcast already). A duplicate above what this node
   * has heard announced was committed by a node that never announced it (it crashed between
   * commit and broadcast): this node announces it for them, and reads it for its own readers.
   */
  committed(ticket: PushTicket, stored: ServerEvent[], duplicates: AppendOutcome[]): ServerEvent[] {
    const { repository } = ticket;
    let tail = this.closed ? undefined : this.tails.get(repository);
    if (!tail && !this.closed && stored.length > 0) {
      tail = newTail(stored[0]!.serverSequence - 1);
      this.tails.set(repository, tail);
    }
    const storedEnd = stored.at(-1)?.serverSequence ?? 0;
    const duplicateEnd = Math.max(0, ...duplicates.map((outcome) => outcome.serverSequence));
    const unheard = duplicateEnd > (tail?.heard ?? 0);
    if (stored.length > 0 || unheard) {
      const end = Math.max(storedEnd, duplicateEnd);
      // The executor turns a fan-out that throws instead of rejecting into a rejection too.
      new Promise<void>((resolve) => resolve(this.fanout.announce(repository, end))).then(
        () => {
          if (tail) tail.heard = Math.max(tail.heard, end);
        },
        (error: unknown) => {
          this.host.logger.warn(
            { error, repository },
            'could not announce a commit to other nodes',
          );
        },
      );
    }
    if (!tail) return stored;
    const pending = this.inFlight.get(repository);
    const own = stored.filter((event) => {
      tail.coverage.cover(event.serverSequence);
      return !tail.relayed.delete(event.eventId);
    });
    let repairs = tail.coverage.hasHoles;
    for (const outcome of duplicates) {
      if (tail.coverage.covers(outcome.serverSequence)) continue;
      // Kept past the push, so the read that broadcasts it spares the connection that re-sent it.
      const entry = pending?.get(outcome.eventId);
      if (entry) entry.pushing = false;
      repairs = true;
    }
    if (repairs) this.read(repository, tail);
    return own;
  }

  /** Forgets a push's eventIds, except duplicates that a read still has to broadcast. */
  endPush(ticket: PushTicket): void {
    const pending = this.inFlight.get(ticket.repository);
    if (!pending) return;
    const tail = this.tails.get(ticket.repository);
    for (const eventId of ticket.eventIds) {
      const entry = pending.get(eventId);
      if (entry?.pushing || !tail) pending.delete(eventId);
      tail?.relayed.delete(eventId);
    }
    if (pending.size === 0) this.inFlight.delete(ticket.repository);
  }

  /**
   * Forgets the repositories that no open connection reads, so what the relay keeps is bounded
   * by what this node's readers follow. A reader that comes back is followed again from its
   * catch-up.
   */
  prune(): void {
    const read = this.host.readRepositories();
    for (const [repository, tail] of this.tails) {
      if (!read.has(repository) && !tail.reading) this.forget(repository, tail);
    }
  }

  /** Stops listening and reading; reads under way finish without broadcasting. */
  close(): void {
    this.closed = true;
    for (const stop of this.stops.splice(0)) stop();
    for (const tail of this.tails.values()) clearTimeout(tail.retry);
    this.tails.clear();
    this.inFlight.clear();
  }

  private heard(announcement: FanoutAnnouncement): void {
    const tail = this.tails.get(announcement.repository);
    if (!tail) return;
    tail.heard = Math.max(tail.heard, announcement.lastSequence);
    if (announcement.lastSequence > tail.coverage.known) this.read(announcement.repository, tail);
  }

  /**
   * Announcements may have been missed (the fan-out's listening side was down, or one could not
   * name its repository): every repository that a connection here reads is read from what this
   * node knows. Repositories that nobody reads any more are forgotten.
   */
  private repair(): void {
    const read = this.host.readRepositories();
    for (const [repository, tail] of this.tails) {
      if (read.has(repository)) this.read(repository, tail);
      else this.forget(repository, tail);
    }
  }

  private forget(repository: string, tail: Tail): void {
    clearTimeout(tail.retry);
    this.tails.delete(repository);
    // Duplicates kept for a read that will not happen now: nobody here reads them.
    const pending = this.inFlight.get(repository);
    if (!pending) return;
    for (const [eventId, entry] of pending) if (!entry.pushing) pending.delete(eventId);
    if (pending.size === 0) this.inFlight.delete(repository);
  }

  /** Starts a read of the repository's log, or folds this request into the one under way. */
  private read(repository: string, tail: Tail): void {
    if (this.closed) return;
    if (tail.reading) {
      tail.again = true;
      return;
    }
    tail.reading = true;
    clearTimeout(tail.retry);
    tail.retry = undefined;
    void this.readPages(repository, tail).finally(() => {
      tail.reading = false;
    });
  }

  private async readPages(repository: string, tail: Tail): Promise<void> {
    const { store, limits, logger } = this.host;
    try {
      for (;;) {
        tail.again = false;
        const page = await store.readAfter(repository, tail.coverage.known, limits.maxPageEvents);
        if (this.closed || this.tails.get(repository) !== tail) return;
        await this.broadcastNew(repository, tail, page.events);
        if (page.hasMore) {
          // Other connections and repositories get their turn between pages.
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        if (!tail.again) return;
      }
    } catch (error) {
      logger.warn({ error, repository }, 'could not read events that another node announced');
      if (this.closed || tail.retry) return;
      tail.retry = setTimeout(() => {
        tail.retry = undefined;
        if (this.tails.get(repository) === tail) this.read(repository, tail);
      }, limits.internalRetryAfterMs);
      tail.retry.unref?.();
    }
  }

  /** Broadcasts the events of a page that this node has not broadcast, sparing their origins. */
  private async broadcastNew(repository: string, tail: Tail, events: ServerEvent[]) {
    const pending = this.inFlight.get(repository);
    const runs: { origin: Origin | undefined; events: ServerEvent[] }[] = [];
    for (const event of events) {
      if (!tail.coverage.cover(event.serverSequence)) continue;
      const entry = pending?.get(event.eventId);
      if (entry?.pushing) tail.relayed.add(event.eventId);
      else if (entry) pending!.delete(event.eventId);
      const origin = entry?.origin;
      const last = runs.at(-1);
      if (last && last.origin === origin) last.events.push(event);
      else runs.push({ origin, events: [event] });
    }
    for (const run of runs) await this.host.broadcast(repository, run.events, run.origin);
  }
}

function newTail(known: number): Tail {
  return {
    coverage: new Coverage(known),
    // Not `known`: events below it may have been committed by a node that never announced them.
    heard: 0,
    reading: false,
    again: false,
    retry: undefined,
    relayed: new Set(),
  };
}

import type { StoredEvent, SyncStatus } from '@local-first/core';
import type { KvTransaction } from './journaled-store.js';
import { keys } from './keys.js';

/**
 * The indexes that spare the adapter from listing the store's keys: per repository, the ids of
 * its records; per namespace, the event log in append order and which of its pages hold
 * pending events. Both are split into fixed-size pages, so an append rewrites one page, not a
 * list as long as the log.
 */

/** `[eventId, status, repository]`: enough to filter the log without reading events. */
export type LogEntry = [eventId: string, status: SyncStatus, repository: string];

/**
 * A place in a log page: an entry, or `null` where an event was dropped with its repository.
 * The hole stays, so the position stored with every later event remains its slot.
 */
export type LogSlot = LogEntry | null;

export interface LogHead {
  /** The sequence number the next event gets; also the length of the log. */
  next: number;
  /** The pages that hold at least one pending event, ascending. */
  pending: number[];
}

export interface IdIndexHead {
  count: number;
}

/** An event as stored: its position in the log beside it. */
export interface StoredEventEntry {
  seq: number;
  event: StoredEvent;
}

const EMPTY_LOG: LogHead = { next: 0, pending: [] };

export class Indexes {
  constructor(
    private readonly tx: KvTransaction,
    private readonly ns: string,
    private readonly pageSize: number,
  ) {}

  /** Adds a new record id to its repository's index. */
  addId(repository: string, id: string): Promise<void> {
    return this.addIds(repository, [id]);
  }

  /** Adds new record ids to their repository's index, writing each page they touch once. */
  async addIds(repository: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const headKey = keys.idHead(this.ns, repository);
    const head = (await this.tx.get<IdIndexHead>(headKey)) ?? { count: 0 };
    await this.appendPaged(
      head.count,
      ids,
      (page) => keys.idPage(this.ns, repository, page),
      (id) => id,
    );
    this.tx.set(headKey, { count: head.count + ids.length });
  }

  /** Every record id of a repository, tombstones included. */
  async ids(repository: string): Promise<string[]> {
    const head = await this.tx.get<IdIndexHead>(keys.idHead(this.ns, repository));
    const pages = Math.ceil((head?.count ?? 0) / this.pageSize);
    const all: string[] = [];
    for (let page = 0; page < pages; page++) {
      all.push(...((await this.tx.get<string[]>(keys.idPage(this.ns, repository, page))) ?? []));
    }
    return all;
  }

  /** Appends an event to the log; returns its sequence number. */
  async appendEvent(event: StoredEvent): Promise<number> {
    return (await this.appendEvents([event]))[0]!;
  }

  /**
   * Appends events to the log in order, writing each page they touch once; returns their
   * sequence numbers.
   */
  async appendEvents(events: readonly StoredEvent[]): Promise<number[]> {
    if (events.length === 0) return [];
    const headKey = keys.logHead(this.ns);
    const head = (await this.tx.get<LogHead>(headKey)) ?? EMPTY_LOG;
    let pending = head.pending;
    events.forEach((event, index) => {
      const page = Math.floor((head.next + index) / this.pageSize);
      // Pages fill in order, so a page added here is above every page already listed.
      if (event.syncStatus === 'pending' && pending.at(-1) !== page) pending = [...pending, page];
    });
    await this.appendPaged(
      head.next,
      events,
      (page) => keys.logPage(this.ns, page),
      (event): LogEntry => [event.eventId, event.syncStatus, event.repository],
    );
    this.tx.set(headKey, { next: head.next + events.length, pending });
    return events.map((_, index) => head.next + index);
  }

  /** Records a status change of the event at `seq` in its log page. */
  async setStatus(seq: number, status: SyncStatus): Promise<void> {
    const page = Math.floor(seq / this.pageSize);
    const pageKey = keys.logPage(this.ns, page);
    const entries = (await this.tx.get<LogSlot[]>(pageKey)) ?? [];
    const slot = seq - page * this.pageSize;
    const changed = entries.map(
      (entry, index): LogSlot => (index === slot && entry ? [entry[0], status, entry[2]] : entry),
    );
    this.tx.set(pageKey, changed);
    const headKey = keys.logHead(this.ns);
    const head = (await this.tx.get<LogHead>(headKey)) ?? EMPTY_LOG;
    const hasPending = changed.some((entry) => entry?.[1] === 'pending');
    if (hasPending === head.pending.includes(page)) return;
    const pending = hasPending
      ? [...head.pending, page].sort((a, b) => a - b)
      : head.pending.filter((other) => other !== page);
    this.tx.set(headKey, { next: head.next, pending });
  }

  /**
   * The ids of logged events that pass `filter`, in append order, at most `limit`. Only
   * pending events asked for: only the pages that hold some are read.
   */
  async eventIds(
    filter: { repository?: string; status?: SyncStatus },
    limit: number,
  ): Promise<string[]> {
    const head = (await this.tx.get<LogHead>(keys.logHead(this.ns))) ?? EMPTY_LOG;
    const pages =
      filter.status === 'pending'
        ? head.pending
        : Array.from({ length: Math.ceil(head.next / this.pageSize) }, (_, page) => page);
    const found: string[] = [];
    for (const page of pages) {
      if (found.length >= limit) break;
      for (const entry of (await this.tx.get<LogSlot[]>(keys.logPage(this.ns, page))) ?? []) {
        if (!entry) continue;
        const [eventId, status, repository] = entry;
        if (filter.status !== undefined && status !== filter.status) continue;
        if (filter.repository !== undefined && repository !== filter.repository) continue;
        found.push(eventId);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  /** Removes a repository's id index; returns the ids it held. */
  async dropIds(repository: string): Promise<string[]> {
    const ids = await this.ids(repository);
    const pages = Math.ceil(ids.length / this.pageSize);
    for (let page = 0; page < pages; page++) this.tx.remove(keys.idPage(this.ns, repository, page));
    this.tx.remove(keys.idHead(this.ns, repository));
    return ids;
  }

  /**
   * Takes a repository's events out of the log, leaving holes (see `LogSlot`), and forgets
   * pages left with no pending event; returns the ids taken out. Reads every page of the log:
   * a repository is dropped rarely (its read access was revoked).
   */
  async dropEvents(repository: string): Promise<string[]> {
    const headKey = keys.logHead(this.ns);
    const head = (await this.tx.get<LogHead>(headKey)) ?? EMPTY_LOG;
    const dropped: string[] = [];
    let pending = head.pending;
    for (let page = 0; page < Math.ceil(head.next / this.pageSize); page++) {
      const pageKey = keys.logPage(this.ns, page);
      const slots = (await this.tx.get<LogSlot[]>(pageKey)) ?? [];
      if (!slots.some((slot) => slot?.[2] === repository)) continue;
      const kept = slots.map((slot) => {
        if (slot?.[2] !== repository) return slot;
        dropped.push(slot[0]);
        return null;
      });
      this.tx.set(pageKey, kept);
      if (!kept.some((slot) => slot?.[1] === 'pending'))
        pending = pending.filter((other) => other !== page);
    }
    if (pending !== head.pending) this.tx.set(headKey, { next: head.next, pending });
    return dropped;
  }

  /**
   * Appends `items` (as `entry` makes them) to a paged list that holds `count` entries so far.
   * Each page is read and written once, as a new array: stored values are never changed.
   */
  private async appendPaged<T, E>(
    count: number,
    items: readonly T[],
    pageKey: (page: number) => string,
    entry: (item: T) => E,
  ): Promise<void> {
    let index = 0;
    while (index < items.length) {
      const page = Math.floor((count + index) / this.pageSize);
      const room = (page + 1) * this.pageSize - (count + index);
      const key = pageKey(page);
      const entries = [...((await this.tx.get<E[]>(key)) ?? [])];
      for (const item of items.slice(index, index + room)) entries.push(entry(item));
      this.tx.set(key, entries);
      index += room;
    }
  }
}

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
  async addId(repository: string, id: string): Promise<void> {
    const headKey = keys.idHead(this.ns, repository);
    const head = (await this.tx.get<IdIndexHead>(headKey)) ?? { count: 0 };
    const pageKey = keys.idPage(this.ns, repository, Math.floor(head.count / this.pageSize));
    const ids = (await this.tx.get<string[]>(pageKey)) ?? [];
    this.tx.set(pageKey, [...ids, id]);
    this.tx.set(headKey, { count: head.count + 1 });
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
    const headKey = keys.logHead(this.ns);
    const head = (await this.tx.get<LogHead>(headKey)) ?? EMPTY_LOG;
    const seq = head.next;
    const page = Math.floor(seq / this.pageSize);
    const pageKey = keys.logPage(this.ns, page);
    const entries = (await this.tx.get<LogEntry[]>(pageKey)) ?? [];
    this.tx.set(pageKey, [...entries, [event.eventId, event.syncStatus, event.repository]]);
    const pending =
      event.syncStatus === 'pending' && head.pending.at(-1) !== page
        ? [...head.pending, page]
        : head.pending;
    this.tx.set(headKey, { next: seq + 1, pending });
    return seq;
  }

  /** Records a status change of the event at `seq` in its log page. */
  async setStatus(seq: number, status: SyncStatus): Promise<void> {
    const page = Math.floor(seq / this.pageSize);
    const pageKey = keys.logPage(this.ns, page);
    const entries = (await this.tx.get<LogEntry[]>(pageKey)) ?? [];
    const slot = seq - page * this.pageSize;
    const changed = entries.map(
      (entry, index): LogEntry => (index === slot ? [entry[0], status, entry[2]] : entry),
    );
    this.tx.set(pageKey, changed);
    const headKey = keys.logHead(this.ns);
    const head = (await this.tx.get<LogHead>(headKey)) ?? EMPTY_LOG;
    const hasPending = changed.some((entry) => entry[1] === 'pending');
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
      for (const [eventId, status, repository] of (await this.tx.get<LogEntry[]>(
        keys.logPage(this.ns, page),
      )) ?? []) {
        if (filter.status !== undefined && status !== filter.status) continue;
        if (filter.repository !== undefined && repository !== filter.repository) continue;
        found.push(eventId);
        if (found.length >= limit) break;
      }
    }
    return found;
  }
}

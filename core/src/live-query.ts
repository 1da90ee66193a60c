import type { RecordData } from './model.js';
import { matchesClause, type QuerySpec, recordComparator } from './query.js';
import type { ChangedRow, RecordChangeSet } from './record-changes.js';

/** Above this many changed records, one merge of the whole result beats one splice each. */
const MERGE_ABOVE = 32;
/** Rows held past the end of a limited window, so a few removals need no new read. */
const MIN_SLACK = 16;

/** What applying a change set did to a live query. */
export type LiveUpdate = 'changed' | 'unchanged' | 'reload';

/**
 * The result of one query, kept up to date from the change sets of committed transactions
 * instead of being read again. It holds the matching rows in the query's order from the first
 * one: all of them, or for a `limit` the first `offset + limit` and some slack. Only when
 * removals leave fewer than the window needs, and more may exist, does it ask to be reloaded.
 * The rows' items are frozen, so the arrays it hands out share them without a copy; they are
 * kept beside the rows, so an emission is one copy of a slice and reads no row.
 */
export class LiveQuery {
  private readonly compare: (a: ChangedRow, b: ChangedRow) => number;
  /** Matching rows in query order, from the first match. */
  private rows: ChangedRow[] = [];
  /** `rows[i].item` at `i`: the window is handed out as one copy of a slice of it. */
  private items: RecordData[] = [];
  private readonly byId = new Map<string, ChangedRow>();
  /** Whether `rows` holds every match (else more may sort after the last held). */
  private complete = false;
  /** The rows the window needs: `offset + limit`; `undefined` without a limit. */
  private readonly needed: number | undefined;
  /** The most rows held: `needed` and the slack. */
  private readonly held: number | undefined;
  private readonly start: number;

  constructor(private readonly spec: QuerySpec) {
    const byRecord = recordComparator(spec.orderBy);
    this.compare = (a, b) => byRecord(a.record, b.record);
    this.start = spec.offset ?? 0;
    if (spec.limit !== undefined) {
      this.needed = this.start + spec.limit;
      this.held = this.needed + Math.max(MIN_SLACK, spec.limit);
    }
  }

  /** The query to load the rows with: from the first match, as many as are held. */
  loadSpec(): QuerySpec {
    const { offset: _offset, limit: _limit, ...rest } = this.spec;
    return this.held === undefined ? rest : { ...rest, limit: this.held };
  }

  /** Replaces the rows with a fresh read of `loadSpec()`, in query order. */
  load(rows: ChangedRow[]): void {
    if (!this.sorted(rows)) rows.sort(this.compare);
    this.rows = rows;
    this.items = rows.map((row) => row.item);
    this.byId.clear();
    for (const row of rows) this.byId.set(row.record.id, row);
    this.complete = this.held === undefined || rows.length < this.held;
  }

  /** The window the app sees: `offset`, then at most `limit` items. */
  results(): RecordData[] {
    const end = Math.min(this.needed ?? this.rows.length, this.rows.length);
    if (end <= this.start) return [];
    return this.items.slice(this.start, end);
  }

  /** Patches the rows with one committed transaction's changes. */
  apply(changes: RecordChangeSet): LiveUpdate {
    if (changes.reset) return 'reload';
    // The first row index the change touched; the window moves only if it is before its end.
    let touched = Number.POSITIVE_INFINITY;
    if (changes.cleared && this.rows.length > 0) {
      this.rows = [];
      this.items = [];
      this.byId.clear();
      touched = 0;
    }
    if (changes.cleared) this.complete = true;
    if (changes.rows.length > MERGE_ABOVE) touched = Math.min(touched, this.merge(changes.rows));
    else for (const row of changes.rows) touched = Math.min(touched, this.patch(row));
    if (this.held !== undefined && this.rows.length > this.held) {
      for (const row of this.rows.splice(this.held)) this.byId.delete(row.record.id);
      this.items.length = this.held;
      this.complete = false;
    }
    if (!this.complete && this.needed !== undefined && this.rows.length < this.needed)
      return 'reload';
    return touched < (this.needed ?? Number.POSITIVE_INFINITY) ? 'changed' : 'unchanged';
  }

  private matches(row: ChangedRow): boolean {
    const { record } = row;
    if (record.deleted && !this.spec.includeDeleted) return false;
    for (const clause of this.spec.where) if (!matchesClause(record, clause)) return false;
    return true;
  }

  /** Whether a matching row belongs among the held ones: before the last, or all are held. */
  private belongs(row: ChangedRow): boolean {
    if (this.complete) return true;
    const last = this.rows[this.rows.length - 1];
    return last !== undefined && this.compare(row, last) < 0;
  }

  /** One change by binary search and splice; the index it touched, or infinity. */
  private patch(row: ChangedRow): number {
    let touched = Number.POSITIVE_INFINITY;
    const old = this.byId.get(row.record.id);
    if (old) {
      const index = this.indexOf(old);
      this.rows.splice(index, 1);
      this.items.splice(index, 1);
      this.byId.delete(row.record.id);
      touched = index;
    }
    if (this.matches(row) && this.belongs(row)) {
      const last = this.rows[this.rows.length - 1];
      // After the last row (ids that grow, the newest first in a `desc` order): one comparison.
      const index =
        last === undefined || this.compare(last, row) < 0
          ? this.rows.length
          : this.insertionPoint(row);
      row.keep?.();
      if (index === this.rows.length) {
        this.rows.push(row);
        this.items.push(row.item);
      } else {
        this.rows.splice(index, 0, row);
        this.items.splice(index, 0, row.item);
      }
      this.byId.set(row.record.id, row);
      touched = Math.min(touched, index);
    }
    return touched;
  }

  /**
   * Many changes: drop the old rows of changed ids, then merge the sorted new ones in. Each
   * new row's place is found by binary search and the rows between are copied as they are, so
   * a transaction of k changes over n rows costs k log n comparisons (and n copies, none when
   * every new row sorts after the last held, as in a catch-up in id order).
   */
  private merge(changed: readonly ChangedRow[]): number {
    let touched = this.removeHeld(changed);
    const incoming = changed.filter((row) => this.matches(row) && this.belongs(row));
    if (incoming.length === 0) return touched;
    // Often in order already (a catch-up, ids that grow): checking costs less than sorting.
    if (!this.sorted(incoming)) incoming.sort(this.compare);
    const rows = this.rows;
    const first = this.insertionPoint(incoming[0]!);
    // Found before any row is kept: a kept row reads its own copy of the record.
    const at =
      first === rows.length
        ? undefined
        : incoming.map((row, index) => (index === 0 ? first : this.insertionPoint(row)));
    for (const row of incoming) {
      row.keep?.();
      this.byId.set(row.record.id, row);
    }
    touched = Math.min(touched, first);
    const items = this.items;
    if (!at) {
      for (const row of incoming) {
        rows.push(row);
        items.push(row.item);
      }
      return touched;
    }
    const size = rows.length + incoming.length;
    const merged = new Array<ChangedRow>(size);
    const mergedItems = new Array<RecordData>(size);
    let out = 0;
    let from = 0;
    for (let index = 0; index < incoming.length; index++) {
      const until = at[index]!;
      while (from < until) {
        mergedItems[out] = items[from]!;
        merged[out++] = rows[from++]!;
      }
      mergedItems[out] = incoming[index]!.item;
      merged[out++] = incoming[index]!;
    }
    while (from < rows.length) {
      mergedItems[out] = items[from]!;
      merged[out++] = rows[from++]!;
    }
    this.rows = merged;
    this.items = mergedItems;
    return touched;
  }

  private sorted(rows: readonly ChangedRow[]): boolean {
    for (let index = 1; index < rows.length; index++) {
      if (this.compare(rows[index - 1]!, rows[index]!) > 0) return false;
    }
    return true;
  }

  /** Removes the held rows of changed ids; the first index it touched, or infinity. */
  private removeHeld(changed: readonly ChangedRow[]): number {
    const gone: number[] = [];
    for (const row of changed) {
      const old = this.byId.get(row.record.id);
      if (!old) continue;
      gone.push(this.indexOf(old));
      this.byId.delete(row.record.id);
    }
    if (gone.length === 0) return Number.POSITIVE_INFINITY;
    gone.sort((a, b) => a - b);
    if (gone.length <= MERGE_ABOVE) {
      for (let index = gone.length - 1; index >= 0; index--) {
        this.rows.splice(gone[index]!, 1);
        this.items.splice(gone[index]!, 1);
      }
      return gone[0]!;
    }
    const kept: ChangedRow[] = [];
    const keptItems: RecordData[] = [];
    let next = 0;
    for (let index = 0; index < this.rows.length; index++) {
      if (gone[next] === index) next++;
      else {
        kept.push(this.rows[index]!);
        keptItems.push(this.items[index]!);
      }
    }
    this.rows = kept;
    this.items = keptItems;
    return gone[0]!;
  }

  /** Where a held row is; the order is total (ties broken by id), so the search finds it. */
  private indexOf(row: ChangedRow): number {
    const index = this.insertionPoint(row);
    if (this.rows[index] === row) return index;
    return this.rows.indexOf(row);
  }

  /** The first index whose row sorts at or after `row`. */
  private insertionPoint(row: ChangedRow): number {
    let low = 0;
    let high = this.rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compare(this.rows[middle]!, row) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

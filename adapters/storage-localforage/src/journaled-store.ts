import { ERROR_CODES, LocalFirstError } from '@local-first/core';
import { inChunks } from './chunks.js';
import { IndexedDbCommits } from './indexeddb-commits.js';
import { JOURNAL_KEY, WRITER_KEY } from './keys.js';

/**
 * The part of a localforage instance the adapter uses. `localforage.createInstance(…)` fits;
 * so does any object with these methods, e.g. a wrapper that counts or fails calls in tests.
 */
export interface LocalForageLike {
  /** The value stored under `key`, or `null` when there is none. */
  getItem<T>(key: string): Promise<T | null>;
  /** Stores `value` under `key`; resolves to it once written. */
  setItem<T>(key: string, value: T): Promise<T>;
  /** Deletes `key`; nothing happens when it is absent. */
  removeItem(key: string): Promise<void>;
  /** Optional: resolves once the backing store is usable; awaited before the first read. */
  ready?(): Promise<void>;
}

/** A before-image in the journal: `[key]` when the key did not exist, `[key, value]` if it did. */
type BeforeImage = [key: string] | [key: string, value: unknown];

interface Journal {
  version: 1;
  before: BeforeImage[];
}

/** Marks a key that a transaction removes. */
const REMOVED: unique symbol = Symbol('removed');
type Pending = unknown | typeof REMOVED;

/**
 * The writes of one transaction, held in memory until commit. Reads see them first, then the
 * committed state. Values are treated as immutable: callers store new objects, never edit old.
 */
export class KvTransaction {
  readonly writes = new Map<string, Pending>();
  /** Committed values read before the first write to a key: free before-images at commit. */
  readonly seen = new Map<string, Pending>();

  constructor(private readonly store: JournaledStore) {}

  async get<T>(key: string): Promise<T | undefined> {
    if (this.writes.has(key)) {
      const value = this.writes.get(key);
      return value === REMOVED ? undefined : (value as T);
    }
    const value = await this.store.read(key);
    this.seen.set(key, value === undefined ? REMOVED : value);
    return value as T | undefined;
  }

  /** `get` of many keys; on IndexedDB the ones not at hand are read in one transaction. */
  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const values: (T | undefined)[] = new Array(keys.length);
    const unread: number[] = [];
    keys.forEach((key, index) => {
      if (!this.writes.has(key)) {
        unread.push(index);
        return;
      }
      const value = this.writes.get(key);
      values[index] = value === REMOVED ? undefined : (value as T);
    });
    const read = await this.store.readMany(unread.map((index) => keys[index]!));
    unread.forEach((index, at) => {
      const value = read[at];
      const key = keys[index]!;
      if (!this.seen.has(key)) this.seen.set(key, value === undefined ? REMOVED : value);
      values[index] = value as T | undefined;
    });
    return values;
  }

  set(key: string, value: unknown): void {
    this.writes.set(key, value);
  }

  remove(key: string): void {
    this.writes.set(key, REMOVED);
  }
}

/**
 * Gives a localforage store all-or-nothing commits of many keys, which localforage lacks, with
 * a rollback journal in the manner of SQLite's:
 *
 * 1. the before-image of every key the commit changes is written under `JOURNAL_KEY`, in one
 *    `setItem` (atomic on every driver: one IndexedDB put, one localStorage write);
 * 2. the changes are applied key by key;
 * 3. the journal is removed. That removal is the commit point.
 *
 * If a step fails, the before-images are written back and the journal removed, so the store
 * is as before and the error reported. If the process dies instead, the journal is still there
 * at the next `recover()`, which writes the before-images back. Either way a transaction is
 * there entirely or not at all. A commit that changes a single key skips the journal.
 */
export class JournaledStore {
  private readonly cache = new Map<string, unknown>();
  /** Set when a failed commit could not be undone: only `recover()` on a reopen can. */
  private broken: unknown;
  /** This writer's token, once it `claim()`ed the store. */
  private owner: string | undefined;

  /** Commits in one IndexedDB transaction each, once `recover()` found the IndexedDB driver. */
  private commits: IndexedDbCommits | undefined;

  constructor(
    private readonly store: LocalForageLike,
    private readonly cacheable: (key: string) => boolean,
    private readonly batched = true,
  ) {}

  begin(): KvTransaction {
    this.assertUsable();
    return new KvTransaction(this);
  }

  /** Reads the committed value of a key. */
  async read(key: string): Promise<unknown> {
    this.assertUsable();
    if (this.cache.has(key)) return this.cache.get(key);
    const value = await wrap('read', () => this.store.getItem<unknown>(key));
    const found = value === null ? undefined : value;
    if (this.cacheable(key)) this.cache.set(key, found);
    return found;
  }

  /** Reads the committed values of many keys: one IndexedDB transaction on that driver. */
  async readMany(keys: readonly string[]): Promise<unknown[]> {
    this.assertUsable();
    const commits = this.commits;
    if (!commits) return inChunks(keys, (key) => this.read(key));
    const values: unknown[] = new Array(keys.length);
    const missing: number[] = [];
    keys.forEach((key, index) => {
      if (this.cache.has(key)) values[index] = this.cache.get(key);
      else missing.push(index);
    });
    if (missing.length === 0) return values;
    const read = await commits.getMany(missing.map((index) => keys[index]!));
    missing.forEach((index, at) => {
      const key = keys[index]!;
      values[index] = read[at];
      if (this.cacheable(key)) this.cache.set(key, read[at]);
    });
    return values;
  }

  /** Undoes a commit that a crash interrupted. Call once, before anything else. */
  async recover(): Promise<void> {
    await wrap('ready', async () => this.store.ready?.());
    if (this.batched) this.commits ??= IndexedDbCommits.of(this.store);
    const journal = await wrap('read', () => this.store.getItem<unknown>(JOURNAL_KEY));
    if (journal === null || journal === undefined) return;
    if (!isJournal(journal)) {
      throw new LocalFirstError(
        ERROR_CODES.storageFailure,
        'the localforage store holds a journal this adapter cannot read; it will not guess',
        { details: { key: JOURNAL_KEY } },
      );
    }
    await wrap('recover', () => this.undo(journal.before));
  }

  /**
   * Where there are no Web Locks to keep a second writer out: marks the store as this
   * writer's. From then on each commit first checks that the mark is still its own, and is
   * refused with `storage_locked` once a newer writer has claimed the store: the newest one
   * wins, and an older one (a tab that lost the lead while frozen) writes nothing more.
   */
  async claim(token: string): Promise<void> {
    await wrap('claiming the store', () => this.store.setItem(WRITER_KEY, token));
    this.owner = token;
  }

  private async assertOwner(): Promise<void> {
    if (this.owner === undefined) return;
    const holder = await wrap('read', () => this.store.getItem<unknown>(WRITER_KEY));
    if (holder === this.owner) return;
    throw new LocalFirstError(
      ERROR_CODES.storageLocked,
      'another writer (another tab or window of this app) took this store over; nothing was written',
      { details: { key: WRITER_KEY } },
    );
  }

  async commit(tx: KvTransaction): Promise<void> {
    this.assertUsable();
    const changes = [...tx.writes];
    if (changes.length === 0) return;
    if (this.commits) {
      await this.commitAtOnce(this.commits, changes);
      return;
    }
    await this.assertOwner();
    if (changes.length === 1) {
      const [key, value] = changes[0]!;
      try {
        await this.apply(key, value);
      } catch (error) {
        this.cache.delete(key);
        throw failure('the write failed', error);
      }
      this.remember(key, value);
      return;
    }
    const before = await inChunks(changes, async ([key]): Promise<BeforeImage> => {
      const value = tx.seen.has(key) ? tx.seen.get(key) : await this.read(key);
      return value === undefined || value === REMOVED ? [key] : [key, value];
    });
    try {
      await this.store.setItem<Journal>(JOURNAL_KEY, { version: 1, before });
    } catch (error) {
      // Nothing was applied; a journal that landed anyway only holds the current state.
      await this.forgetJournal(error);
      throw failure('the transaction could not start; nothing was written', error);
    }
    try {
      // The journal covers every key, so the order of these writes does not matter.
      await inChunks(changes, ([key, value]) => this.apply(key, value));
      await this.store.removeItem(JOURNAL_KEY);
    } catch (error) {
      this.cache.clear();
      try {
        await this.undo(before);
      } catch (undoError) {
        this.broken = undoError;
      }
      throw failure('the transaction failed midway and was rolled back', error);
    }
    for (const [key, value] of changes) this.remember(key, value);
  }

  /** The IndexedDB driver's commit: one transaction, no journal, the mark checked inside. */
  private async commitAtOnce(
    commits: IndexedDbCommits,
    changes: [string, Pending][],
  ): Promise<void> {
    try {
      await commits.commit(
        changes.map(([key, value]) => ({ key, value, removed: value === REMOVED })),
        this.owner === undefined ? undefined : { key: WRITER_KEY, token: this.owner },
      );
    } catch (error) {
      for (const [key] of changes) this.cache.delete(key);
      throw failure('the commit failed; nothing was written', error);
    }
    for (const [key, value] of changes) this.remember(key, value);
  }

  /** Closes what the commits hold open. */
  async close(): Promise<void> {
    await this.commits?.close();
  }

  /** Writes before-images back, then drops the journal that held them. */
  private async undo(before: BeforeImage[]): Promise<void> {
    await inChunks(before, (image) =>
      image.length === 1 ? this.apply(image[0], REMOVED) : this.apply(image[0], image[1]),
    );
    await this.store.removeItem(JOURNAL_KEY);
    this.cache.clear();
  }

  private async forgetJournal(cause: unknown): Promise<void> {
    try {
      await this.store.removeItem(JOURNAL_KEY);
    } catch {
      this.broken = cause;
    }
  }

  private apply(key: string, value: Pending): Promise<unknown> {
    return value === REMOVED ? this.store.removeItem(key) : this.store.setItem(key, value);
  }

  private remember(key: string, value: Pending): void {
    if (this.cacheable(key)) this.cache.set(key, value === REMOVED ? undefined : value);
  }

  private assertUsable(): void {
    if (this.broken !== undefined) {
      throw new LocalFirstError(
        ERROR_CODES.storageFailure,
        'a failed transaction could not be rolled back; close and reopen the adapter to recover',
        { cause: this.broken },
      );
    }
  }
}

function isJournal(value: unknown): value is Journal {
  if (typeof value !== 'object' || value === null) return false;
  const { version, before } = value as Partial<Journal>;
  return (
    version === 1 &&
    Array.isArray(before) &&
    before.every(
      (image) =>
        Array.isArray(image) &&
        (image.length === 1 || image.length === 2) &&
        typeof image[0] === 'string',
    )
  );
}

function failure(message: string, cause: unknown): LocalFirstError {
  if (cause instanceof LocalFirstError) return cause;
  return new LocalFirstError(ERROR_CODES.storageFailure, `localforage: ${message}`, { cause });
}

async function wrap<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw failure(`${what} failed`, error);
  }
}

import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { HybridLogicalClock } from './hlc.js';
import type { Logger } from './logger.js';
import type { JsonFields, RecordData, StoredEvent, StoredRecord } from './model.js';
import { ChangeLog } from './record-changes.js';
import { type LocalChange, writeLocalEvents } from './replica-log.js';
import type { AnyRepository, Repository, Stored, WriteOptions } from './repository.js';
import type { StorageAdapter, StorageTransaction } from './storage.js';
import { pushableCheck, pushToStrategies } from './strategies.js';
import type { SyncStrategy } from './sync-strategy.js';

/**
 * The writes of one `client.transaction()`: every change lands in one storage transaction with
 * the others or none does; reads see the writes made before them. Valid only while the
 * transaction's function runs; afterwards each call rejects with `closed`.
 */
export interface ClientTransaction {
  /** Inserts or replaces a record; returns the event written. */
  upsert<T extends JsonFields<T>>(
    repository: Repository<T>,
    item: T,
    options?: WriteOptions,
  ): Promise<StoredEvent>;
  /** Inserts or replaces many records of one repository; returns the events written. */
  upsertMany<T extends JsonFields<T>>(
    repository: Repository<T>,
    items: readonly T[],
    options?: WriteOptions,
  ): Promise<StoredEvent[]>;
  /** Deletes a record; `undefined` when it is absent or deleted already. */
  delete(
    repository: AnyRepository,
    id: string,
    options?: WriteOptions,
  ): Promise<StoredEvent | undefined>;
  /** Deletes many records of one repository; returns the events written. */
  deleteMany(
    repository: AnyRepository,
    ids: readonly string[],
    options?: WriteOptions,
  ): Promise<StoredEvent[]>;
  /** One record by id, as this transaction sees it; tombstones only with `includeDeleted`. */
  getById<T extends JsonFields<T>>(
    repository: Repository<T>,
    id: string,
    options?: { includeDeleted?: boolean },
  ): Promise<Stored<T> | undefined>;
}

/** What the local write path needs from its client. */
export interface LocalWritesOptions {
  storage: StorageAdapter;
  logger: Logger;
  now: () => number;
  clock(): HybridLogicalClock;
  /** Throws unless the client is ready. */
  assertReady(): void;
  /** The client's repository of that name; throws `unknown_repository`. */
  repository(name: string): AnyRepository;
  /** The strategies that sync a repository (the one routed to it, or none). */
  strategiesOf(repository: string): readonly SyncStrategy[];
  /** How a record reads, a tombstone included. */
  toItem(repository: AnyRepository, record: StoredRecord): RecordData;
  /** A transaction committed: its change log, for the watches. */
  committed(log: ChangeLog): void;
  /** The set of pending events changed. */
  pendingChanged(): void;
}

interface GroupedWrite {
  repository: string;
  changes: readonly LocalChange[];
  options: WriteOptions;
  resolve(events: StoredEvent[]): void;
  reject(error: unknown): void;
}

type Outcome =
  | { events: StoredEvent[]; error?: undefined }
  | { events?: undefined; error: unknown };

/**
 * Errors the client raises before a write stores anything (a strategy's size check, a record
 * that is not JSON, a repository it does not know): they fail that write alone. A storage
 * adapter raises none of them, so a write failing with one left nothing half-written.
 */
const REFUSED_ALONE = new Set<string>([
  ERROR_CODES.eventTooLarge,
  ERROR_CODES.invalidRecord,
  ERROR_CODES.unknownRepository,
]);

function refusedAlone(error: unknown): boolean {
  return error instanceof LocalFirstError && REFUSED_ALONE.has(error.code);
}

/**
 * The client's local writes: each runs in one storage transaction, then the watches hear of
 * it once and the strategies get its events together.
 */
export class LocalWrites {
  /** Per repository, the check its local writes pass before they are stored. */
  private readonly checks = new Map<string, ((event: StoredEvent) => void) | undefined>();
  /** The writes whose transaction the storage has not begun yet; more may join them. */
  private open: GroupedWrite[] | undefined;

  constructor(private readonly options: LocalWritesOptions) {}

  /**
   * Stores changes of one repository. Writes asked for while the storage has not begun the
   * transaction of an earlier one go into that transaction with it, in the order asked (a
   * burst of single upserts is one commit, one emission, one push); each resolves with its own
   * events once that transaction committed. A write refused on its own (too large to push, not
   * a record) is refused alone, before it stored anything; a failure of the storage fails
   * every write of the transaction.
   */
  write(
    repository: string,
    changes: readonly LocalChange[],
    options: WriteOptions,
  ): Promise<StoredEvent[]> {
    return new Promise<StoredEvent[]>((resolve, reject) => {
      const write: GroupedWrite = { repository, changes, options, resolve, reject };
      if (this.open) {
        this.open.push(write);
        return;
      }
      const group = [write];
      this.open = group;
      this.transaction(async (tx) => {
        // The storage began: later writes wait for the next transaction.
        if (this.open === group) this.open = undefined;
        const outcomes: Outcome[] = [];
        for (const { repository, changes, options } of group) {
          try {
            outcomes.push({ events: await tx.writeMany(repository, changes, options) });
          } catch (error) {
            if (!refusedAlone(error)) throw error;
            outcomes.push({ error });
          }
        }
        return outcomes;
      }).then(
        (outcomes) =>
          group.forEach((write, index) => {
            const outcome = outcomes[index]!;
            if (outcome.events) write.resolve(outcome.events);
            else write.reject(outcome.error);
          }),
        (error: unknown) => {
          if (this.open === group) this.open = undefined;
          for (const write of group) write.reject(error);
        },
      );
    });
  }

  /** Later writes go into a transaction of their own (something else was asked of storage). */
  closeGroup(): void {
    this.open = undefined;
  }

  /** Runs `work` over one storage transaction; see `LocalFirstClient.transaction`. */
  async transaction<R>(work: (tx: WriteTransaction) => Promise<R>): Promise<R> {
    const { storage } = this.options;
    this.options.assertReady();
    let namespace = storage.namespace;
    let log = new ChangeLog();
    let written: StoredEvent[] = [];
    const result = await storage.transaction(async (storageTx) => {
      // The namespace the changes land in: only a strategy connected for it may push them.
      namespace = storage.namespace;
      // Afresh on each run: an adapter may run `work` again when a first run could not commit.
      log = new ChangeLog();
      written = [];
      const tx = new WriteTransaction(this.options, this.checks, log.wrap(storageTx), written);
      try {
        return await work(tx);
      } finally {
        tx.end();
      }
    });
    this.options.committed(log);
    const pending = written.filter((event) => event.syncStatus === 'pending');
    if (pending.length === 0) return result;
    this.options.pendingChanged();
    this.push(pending, namespace);
    return result;
  }

  /** Hands pending events committed together to the strategies, repository by repository. */
  push(pending: readonly StoredEvent[], namespace: string): void {
    const byRepository = new Map<string, StoredEvent[]>();
    for (const event of pending) {
      const list = byRepository.get(event.repository);
      if (list) list.push(event);
      else byRepository.set(event.repository, [event]);
    }
    for (const [repository, events] of byRepository) {
      pushToStrategies(
        this.options.strategiesOf(repository),
        events,
        namespace,
        this.options.logger,
      );
    }
  }
}

/** A `ClientTransaction` over one storage transaction. */
class WriteTransaction implements ClientTransaction {
  private ended = false;

  constructor(
    private readonly options: LocalWritesOptions,
    private readonly checks: Map<string, ((event: StoredEvent) => void) | undefined>,
    private readonly tx: StorageTransaction,
    private readonly written: StoredEvent[],
  ) {}

  end(): void {
    this.ended = true;
  }

  async upsert<T extends JsonFields<T>>(
    repository: Repository<T>,
    item: T,
    options: WriteOptions = {},
  ): Promise<StoredEvent> {
    const [event] = await this.writeMany(
      this.own(repository).name,
      [repository.change(item)],
      options,
    );
    return event!;
  }

  async upsertMany<T extends JsonFields<T>>(
    repository: Repository<T>,
    items: readonly T[],
    options: WriteOptions = {},
  ): Promise<StoredEvent[]> {
    const changes = items.map((item) => repository.change(item));
    return this.writeMany(this.own(repository).name, changes, options);
  }

  async delete(
    repository: AnyRepository,
    id: string,
    options: WriteOptions = {},
  ): Promise<StoredEvent | undefined> {
    const [event] = await this.writeMany(
      this.own(repository).name,
      [repository.deletion(id)],
      options,
    );
    return event;
  }

  async deleteMany(
    repository: AnyRepository,
    ids: readonly string[],
    options: WriteOptions = {},
  ): Promise<StoredEvent[]> {
    const changes = ids.map((id) => repository.deletion(id));
    return this.writeMany(this.own(repository).name, changes, options);
  }

  async getById<T extends JsonFields<T>>(
    repository: Repository<T>,
    id: string,
    options: { includeDeleted?: boolean } = {},
  ): Promise<Stored<T> | undefined> {
    this.assertOpen();
    const owned = this.own(repository);
    const record = await this.tx.getRecord(owned.name, id);
    if (!record || (record.deleted && !options.includeDeleted)) return undefined;
    return this.options.toItem(owned, record) as Stored<T>;
  }

  /** Stores changes of a repository of this client, by name. */
  async writeMany(
    name: string,
    changes: readonly LocalChange[],
    options: WriteOptions,
  ): Promise<StoredEvent[]> {
    this.assertOpen();
    this.options.repository(name);
    if (changes.length === 0) return [];
    const needSync = options.needSync ?? true;
    if (!this.checks.has(name)) {
      this.checks.set(name, pushableCheck(this.options.strategiesOf(name), name));
    }
    const check = needSync ? this.checks.get(name) : undefined;
    const events = await writeLocalEvents(
      this.tx,
      {
        clock: this.options.clock(),
        now: this.options.now,
        repository: name,
        needSync,
        shared: this.options.storage.externalCommits !== undefined,
        ...(check ? { check } : {}),
      },
      changes,
    );
    for (const event of events) this.written.push(event);
    return events;
  }

  private own(repository: AnyRepository): AnyRepository {
    const owned = this.options.repository(repository.name);
    if (owned !== repository) {
      throw new LocalFirstError(
        ERROR_CODES.unknownRepository,
        `repository "${repository.name}" belongs to another client`,
      );
    }
    return owned;
  }

  private assertOpen(): void {
    if (this.ended) {
      throw new LocalFirstError(ERROR_CODES.closed, 'the transaction has ended');
    }
  }
}

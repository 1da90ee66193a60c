import type { ConflictResolver } from './conflict.js';
import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { HybridLogicalClock } from './hlc.js';
import type { Logger } from './logger.js';
import type { StoredEvent } from './model.js';
import { ChangeLog } from './record-changes.js';
import { applyRemoteBatch } from './replica-log.js';
import type { StorageAdapter, StorageTransaction } from './storage.js';
import type {
  AccessRevocation,
  ApplyResult,
  Rejection,
  RemoteCursor,
  RevocationScope,
  Verdict,
} from './sync-strategy.js';
import { validateRemoteEvents } from './validation.js';
import {
  acknowledgeEvents,
  applyVerdicts,
  dropRepository,
  requeueLocalEvents,
} from './verdicts.js';

/** What the sync path needs from its client. */
export interface SyncPathOptions {
  storage: StorageAdapter;
  logger: Logger;
  maxClockDriftMs: number;
  /** The client's clock; there once the client is initialized. */
  clock(): HybridLogicalClock;
  /** Throws unless the client is ready; every entry point asks first. */
  assertReady(): void;
  /** Throws `unknown_repository` for a name the client does not have. */
  assertRepository(name: string): void;
  resolverOf(repository: string): ConflictResolver | undefined;
  /** A transaction committed: what it changed, for the watches. */
  committed(log: ChangeLog): void;
  /** The set of pending events may have changed. */
  pendingChanged(): void;
  rejected(rejection: Rejection): void;
  revoked(revocation: AccessRevocation): void;
}

/**
 * The client's half of every strategy call (see `SyncHost`): each runs in one storage
 * transaction, and only if, when its turn comes, the storage is in the namespace the call is
 * held to. A namespace of `undefined` means the one in use when the call is made, so a
 * strategy's late write for a namespace the app has switched away from never lands in the next.
 */
export class SyncPath {
  constructor(private readonly options: SyncPathOptions) {}

  /** See `SyncHost.applyRemoteEvents`. */
  async applyRemoteEvents(
    namespace: string | undefined,
    repository: string,
    events: readonly unknown[],
    cursor: RemoteCursor | undefined,
  ): Promise<ApplyResult> {
    const { options } = this;
    options.assertReady();
    options.assertRepository(repository);
    const result: ApplyResult = { applied: [], skipped: [], invalid: [] };
    const valid = validateRemoteEvents(events, options.maxClockDriftMs, result.invalid);
    const clock = options.clock();
    const resolver = options.resolverOf(repository);
    await this.held(namespace, (tx) => {
      result.applied = [];
      result.skipped = [];
      return applyRemoteBatch(tx, { clock, repository, events: valid, resolver, cursor, result });
    });
    if (result.invalid.length > 0) {
      options.logger.warn(
        { repository, invalid: result.invalid },
        'skipped malformed remote events',
      );
    }
    // A skipped event may be this client's own, now known to be on the server.
    if (result.skipped.length > 0) options.pendingChanged();
    return result;
  }

  /** See `SyncHost.markSynced`. */
  async markSynced(
    namespace: string | undefined,
    eventIds: readonly string[],
    cursor: RemoteCursor | undefined,
  ): Promise<void> {
    this.options.assertReady();
    if (eventIds.length === 0 && !cursor) return;
    await this.held(namespace, async (tx) => {
      if (eventIds.length > 0) await acknowledgeEvents(tx, eventIds, this.options.resolverOf);
      if (cursor) await tx.setMeta(cursor.key, cursor.value);
    });
    if (eventIds.length > 0) this.options.pendingChanged();
  }

  /** See `SyncHost.markFailed`. */
  async markFailed(namespace: string | undefined, eventIds: readonly string[]): Promise<void> {
    this.options.assertReady();
    if (eventIds.length === 0) return;
    await this.held(namespace, (tx) => tx.setEventStatus(eventIds, 'failed'));
    this.options.pendingChanged();
  }

  /** See `SyncHost.rejectEvents`. */
  async rejectEvents(namespace: string | undefined, verdicts: readonly Verdict[]): Promise<void> {
    this.options.assertReady();
    if (verdicts.length === 0) return;
    const rejections =
      (await this.held(namespace, (tx) => applyVerdicts(tx, verdicts, this.options.resolverOf))) ??
      [];
    if (rejections.length > 0) this.options.pendingChanged();
    this.report(rejections);
  }

  /** See `SyncHost.requeueLocalEvents`. */
  async requeueLocalEvents(
    namespace: string | undefined,
    repository: string,
  ): Promise<StoredEvent[]> {
    this.options.assertReady();
    const events = (await this.held(namespace, (tx) => requeueLocalEvents(tx, repository))) ?? [];
    if (events.length > 0) this.options.pendingChanged();
    return events;
  }

  /** See `SyncHost.revokeRepository`. */
  async revokeRepository(
    namespace: string | undefined,
    repository: string,
    scope: RevocationScope,
  ): Promise<AccessRevocation | undefined> {
    const { options } = this;
    options.assertReady();
    options.assertRepository(repository);
    const target = namespace ?? options.storage.namespace;
    const rejected = await this.held(target, (tx) =>
      dropRepository(tx, repository, scope.metaKeys ?? []),
    );
    if (!rejected) return undefined;
    options.pendingChanged();
    options.logger.warn(
      { repository, strategy: scope.strategy, namespace: target, dropped: rejected.length },
      'read access revoked: the local copy was dropped',
    );
    this.report(rejected);
    const revocation = { repository, strategy: scope.strategy, namespace: target, rejected };
    options.revoked(revocation);
    return revocation;
  }

  /** Pending events, oldest first; held to `namespace` when one is given. */
  async pendingEvents(namespace: string | undefined, repository?: string): Promise<StoredEvent[]> {
    this.options.assertReady();
    const query = { status: 'pending' as const, ...(repository ? { repository } : {}) };
    return this.read(namespace, (reader) => reader.getEvents(query));
  }

  /** A meta value; held to `namespace` when one is given. */
  async meta(namespace: string | undefined, key: string): Promise<string | undefined> {
    return this.read(namespace, (reader) => reader.getMeta(key));
  }

  private report(rejections: readonly Rejection[]): void {
    for (const rejection of rejections) {
      this.options.logger.warn(
        { repository: rejection.repository, eventId: rejection.eventId, code: rejection.code },
        `change refused: ${rejection.message}`,
      );
      this.options.rejected(rejection);
    }
  }

  /**
   * Runs `work` in one transaction if the storage is then in `namespace`; else `undefined`.
   * The records it wrote reach the watches once it has committed.
   */
  private async held<T>(
    namespace: string | undefined,
    work: (tx: StorageTransaction) => Promise<T>,
  ): Promise<T | undefined> {
    const { storage } = this.options;
    const expected = namespace ?? storage.namespace;
    let log = new ChangeLog();
    const result = await storage.transaction((tx) => {
      // Afresh on each run: an adapter may run `work` again when a first run could not commit.
      log = new ChangeLog();
      return storage.namespace === expected ? work(log.wrap(tx)) : Promise.resolve(undefined);
    });
    this.options.committed(log);
    return result;
  }

  /** A read; held to `namespace` it fails with `namespace_changed` once the storage is elsewhere. */
  private read<T>(
    namespace: string | undefined,
    read: (reader: StorageTransaction | StorageAdapter) => Promise<T>,
  ): Promise<T> {
    const { storage } = this.options;
    if (namespace === undefined) return read(storage);
    return storage.transaction((tx) => {
      if (storage.namespace === namespace) return read(tx);
      throw new LocalFirstError(
        ERROR_CODES.namespaceChanged,
        `the client is no longer in namespace "${namespace}"`,
        { details: { namespace } },
      );
    });
  }
}

import { ERROR_CODES, LocalFirstError, type StorageAdapter } from '@local-first/core';
import {
  appendEvents,
  ChangeLog,
  type ExternalCommit,
  readEventStatuses,
  readRecords,
  type StorageTransaction,
  writeRecords,
} from '@local-first/core/adapter';
import type { CallMessage } from './protocol.js';

/** The optional batch methods, made of the single calls where the real adapter lacks them. */
const BATCH_FALLBACKS: Record<
  string,
  (tx: StorageTransaction, args: unknown[]) => Promise<unknown>
> = {
  getRecords: (tx, [repository, ids]) => readRecords(tx, repository as string, ids as string[]),
  getEventStatuses: (tx, [ids]) => readEventStatuses(tx, ids as string[]),
  putRecords: (tx, [repository, records]) =>
    writeRecords(tx, repository as string, records as Parameters<typeof writeRecords>[2]),
  appendEvents: (tx, [events]) => appendEvents(tx, events as Parameters<typeof appendEvents>[1]),
};

/** How long a follower's transaction may stay silent before the leader gives it up. */
export const DEFAULT_TRANSACTION_IDLE_MS = 10_000;

/** A follower's transaction, open on the leader's store until it commits or aborts. */
interface OpenTransaction {
  tx: StorageTransaction;
  namespace: string;
  end(commit: boolean): void;
  done: Promise<ExternalCommit | undefined>;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The leading tab's real store, shared by every tab: one at a time, each operation runs in the
 * namespace of the tab that asked (switching the store there first when another tab last
 * used another one), and each transaction is recorded so that every other tab hears what it
 * wrote.
 */
export class LeaderStore {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly open = new Map<string, OpenTransaction>();

  constructor(
    readonly store: StorageAdapter,
    private readonly idleMs: number = DEFAULT_TRANSACTION_IDLE_MS,
  ) {}

  /** Runs `work` on the store alone, in `namespace`. */
  exclusive<T>(namespace: string, work: (store: StorageAdapter) => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      if (this.store.namespace !== namespace) await this.store.useNamespace(namespace);
      return work(this.store);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** A transaction of the leader itself; resolves with its value and what it committed. */
  async transaction<T>(
    namespace: string,
    work: (tx: StorageTransaction) => Promise<T>,
  ): Promise<{ value: T; commit: ExternalCommit }> {
    return this.exclusive(namespace, async (store) => {
      const log = new ChangeLog();
      const value = await store.transaction((tx) => work(log.wrap(tx)));
      return { value, commit: log.toCommit(namespace) };
    });
  }

  /**
   * Opens a follower's transaction `id`: resolves once it is open. Its calls go to `call`; it
   * ends with `end`. A transaction that hears nothing for `idleMs` (its tab closed) is rolled
   * back.
   */
  begin(id: string, namespace: string): Promise<void> {
    if (this.open.has(id)) {
      return Promise.reject(
        new LocalFirstError(ERROR_CODES.invalidArgument, `transaction ${id} is open`),
      );
    }
    return new Promise<void>((opened, failed) => {
      let end!: (commit: boolean) => void;
      const ended = new Promise<boolean>((resolve) => {
        end = resolve;
      });
      const done = this.exclusive(namespace, (store) => {
        const log = new ChangeLog();
        return store
          .transaction(async (tx) => {
            const entry: OpenTransaction = {
              tx: log.wrap(tx),
              namespace,
              end,
              done,
              idle: undefined,
            };
            this.open.set(id, entry);
            this.touch(id);
            opened();
            if (!(await ended)) throw new TransactionAborted();
          })
          .then(() => log.toCommit(namespace))
          .catch((error: unknown) => {
            if (error instanceof TransactionAborted) return undefined;
            throw error;
          })
          .finally(() => {
            const entry = this.open.get(id);
            clearTimeout(entry?.idle);
            this.open.delete(id);
          });
      });
      done.catch(failed);
      // `done` is read through the entry; a begin that fails before opening rejects here.
      void done.catch(() => undefined);
    });
  }

  /** A call inside follower transaction `id`. */
  async call(id: string, method: string, args: unknown[]): Promise<unknown> {
    const entry = this.open.get(id);
    if (!entry) throw unknownTransaction(id);
    this.touch(id);
    const target = entry.tx as unknown as Record<
      string,
      (...values: unknown[]) => Promise<unknown>
    >;
    const fn = target[method];
    if (typeof fn === 'function') return fn.apply(entry.tx, args);
    const fallback = BATCH_FALLBACKS[method];
    if (fallback) return fallback(entry.tx, args);
    throw new LocalFirstError(ERROR_CODES.invalidArgument, `no transaction method "${method}"`);
  }

  /** Ends follower transaction `id`: commits it, or rolls it back; resolves with its commit. */
  async end(id: string, commit: boolean): Promise<ExternalCommit | undefined> {
    const entry = this.open.get(id);
    if (!entry) throw unknownTransaction(id);
    entry.end(commit);
    return entry.done;
  }

  /** Rolls back every follower transaction still open (the leader is handing over). */
  abortAll(): void {
    for (const entry of this.open.values()) entry.end(false);
  }

  private touch(id: string): void {
    const entry = this.open.get(id);
    if (!entry) return;
    clearTimeout(entry.idle);
    entry.idle = setTimeout(() => entry.end(false), this.idleMs);
  }

  /**
   * Makes a call another tab sent (`serve` of the channel): a call on the store, or a step of
   * one of its transactions. A commit also returns what it wrote, for every tab to hear.
   */
  async serve(
    message: CallMessage,
  ): Promise<{ value: unknown; commit?: ExternalCommit | undefined }> {
    const { method, args, namespace, tx } = message;
    if (tx !== undefined) {
      if (method === 'begin') return { value: await this.begin(tx, namespace) };
      if (method === 'commit' || method === 'abort')
        return { value: undefined, commit: await this.end(tx, method === 'commit') };
      return { value: await this.call(tx, method, args) };
    }
    const value = await this.exclusive(namespace, (store) => {
      const fn = (store as unknown as Record<string, (...values: unknown[]) => Promise<unknown>>)[
        method
      ];
      if (typeof fn !== 'function') {
        throw new LocalFirstError(ERROR_CODES.invalidArgument, `no storage method "${method}"`);
      }
      return fn.apply(store, args);
    });
    return { value };
  }
}

class TransactionAborted extends Error {}

/**
 * The error for a call in a transaction this leader does not hold: it ended, or it was opened
 * on the tab that led before. `details.transactionGone` tells the caller to run it again.
 */
function unknownTransaction(id: string): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, `transaction ${id} is not open on this tab`, {
    details: { transaction: id, transactionGone: true },
  });
}

/** Whether an error says the transaction was not open on the leader that got the call. */
export function isTransactionGone(error: unknown): boolean {
  return error instanceof LocalFirstError && error.details?.transactionGone === true;
}

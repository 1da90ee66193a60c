import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { LocalFirstError } from '@local-first/core';
import { storageFailure } from './errors.js';
import type { AppendResult, EncodedAppend } from './group-commit.js';

const require = createRequire(import.meta.url);

/** An error as it crosses from the writer thread: its class stays behind. */
interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
}

type FromThread =
  | { type: 'ready' }
  | { type: 'failed'; error: ErrorInfo }
  | { type: 'committed'; id: number; results: ({ outcomes: never } | { error: ErrorInfo })[] }
  | { type: 'closed' };

interface Pending {
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

/**
 * The driver's error rebuilt on this side of the thread, only ever as the `cause` of a
 * `storage_failure` (as the inline writer's own driver error is): it keeps the driver's `name`
 * and `code` (`SQLITE_BUSY`…), which a `LocalFirstError` cannot carry as its code.
 */
function revive(info: ErrorInfo): Error {
  const error = new Error(info.message);
  error.name = info.name;
  if (info.code !== undefined) Object.assign(error, { code: info.code });
  return error;
}

/**
 * The writer thread of `SqliteEventStore` (`writer-thread.cjs`): a worker with its own
 * connection to the file, where every append transaction runs. One commit is posted at a time
 * by `GroupCommit`; the thread holds the process open only while a commit is under way.
 *
 * When the thread stops unexpectedly, the commits in flight fail with `storage_failure` (the
 * transaction may or may not have committed: a client's re-push is a duplicate if it did) and
 * `stopped` is set, so the store starts a new thread for the next commit.
 */
export class WriterThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  /** Set once the thread is gone: what the commits posted after that fail with. */
  stopped: LocalFirstError | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (message: FromThread) => this.received(message));
    worker.on('error', (error) => this.stop(storageFailure('keep its writer thread', error)));
    worker.on('exit', (code) => {
      if (!this.closing) this.stop(storageFailure(`keep its writer thread (exit code ${code})`));
    });
  }

  /** Starts a thread on the file at `path` (which the caller has opened and set up). */
  static start(path: string, busyTimeoutMs: number): Promise<WriterThread> {
    const worker = new Worker(new URL('./writer-thread.cjs', import.meta.url), {
      workerData: { path, busyTimeoutMs, driver: require.resolve('better-sqlite3') },
    });
    return new Promise((resolve, reject) => {
      const settle = (error?: LocalFirstError) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (!error) return resolve(new WriterThread(worker));
        void worker.terminate();
        reject(error);
      };
      const onMessage = (message: FromThread) => {
        if (message.type === 'ready') settle();
        else if (message.type === 'failed')
          settle(storageFailure('open the database in its writer thread', revive(message.error)));
      };
      const onError = (error: Error) => settle(storageFailure('start its writer thread', error));
      const onExit = (code: number) =>
        settle(storageFailure(`start its writer thread (exit code ${code})`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Commits a group in the thread (see `createWriter` in `write-batch.cjs`). */
  commit(appends: EncodedAppend[], nowMs: number): Promise<AppendResult[]> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (this.closing) return Promise.reject(storageFailure('commit: the writer thread is closing'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ type: 'commit', id, appends, nowMs });
    });
  }

  /** Closes the thread's connection and ends it, after the commits already posted. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'close' });
    });
    return this.closing;
  }

  private received(message: FromThread): void {
    if (message.type !== 'committed') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    pending.resolve(
      message.results.map((result) =>
        'error' in result
          ? { error: storageFailure('append events', revive(result.error)) }
          : (result as AppendResult),
      ),
    );
  }

  private stop(error: LocalFirstError): void {
    if (this.stopped) return;
    this.stopped = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

import { ERROR_CODES, LocalFirstError } from './errors.js';

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/**
 * Runs an adapter's operations one at a time, in call order, and owns its lifecycle: calls
 * before `open()` fail with `not_initialized`, calls from the moment `close()` starts fail with
 * `closed`, and calls made before `close()` still finish. One queue makes a transaction's work
 * and a save of the database impossible to interleave.
 */
export class SerialQueue {
  private state: State = 'new';
  private tail: Promise<unknown> = Promise.resolve();

  /** True once `open()` succeeded and until `close()` starts: operations are accepted. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** True from the moment `close()` started: the adapter never opens again. */
  get isClosed(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  /** Marks the start of `open()`; returns false when it already ran. */
  beginOpen(): boolean {
    if (this.state === 'closing' || this.state === 'closed') throw storageClosedError();
    if (this.state !== 'new') return false;
    this.state = 'opening';
    return true;
  }

  /** Ends `open()`: open on success, back to new on failure so it can be retried. */
  endOpen(ok: boolean): void {
    this.state = ok ? 'open' : 'new';
  }

  /** Queues `operation` behind every earlier one. */
  run<T>(operation: () => T | Promise<T>): Promise<T> {
    if (this.state !== 'open') {
      return Promise.reject(
        this.state === 'closing' || this.state === 'closed'
          ? storageClosedError()
          : new LocalFirstError(ERROR_CODES.notInitialized, 'call open() on the adapter first'),
      );
    }
    const result = this.tail.then(operation);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Refuses new calls from now on, waits for the queued ones, then runs `finish` (the last
   * save). Returns false when the queue was never opened or is already closed.
   */
  async close(finish: () => Promise<void>): Promise<boolean> {
    if (this.state !== 'open') {
      if (this.state === 'new') this.state = 'closed';
      return false;
    }
    this.state = 'closing';
    await this.tail.catch(() => undefined);
    try {
      await finish();
    } finally {
      this.state = 'closed';
    }
    return true;
  }
}

/** The `closed` error of an adapter used from the moment its `close()` started. */
export function storageClosedError(): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.closed, 'the storage adapter is closed');
}

/** Wraps what a backend threw in a `storage_failure`, leaving our own errors as they are. */
export function storageFailure(message: string, cause: unknown): LocalFirstError {
  if (cause instanceof LocalFirstError) return cause;
  return new LocalFirstError(ERROR_CODES.storageFailure, message, { cause });
}

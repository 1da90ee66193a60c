import { ERROR_CODES, LocalFirstError } from './errors.js';

/** The part of the Web Locks API (`navigator.locks`) that writer locks and tab elections use. */
export interface WriterLocks {
  /** Asks for the lock `name`; `callback` runs while it is held, and its promise holds it. */
  request(
    name: string,
    options: { mode?: 'exclusive' | 'shared'; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>;
}

/** A writer's hold on a store; `release()` lets the next writer in. */
export interface WriterLock {
  /** How the hold is kept: a Web Lock, or nothing where the browser has none. */
  readonly mechanism: 'locks' | 'none';
  /** Gives the lock up; the next writer waiting for it gets it. */
  release(): void;
}

/** How long a second writer waits for the first to finish before it is refused. */
export const DEFAULT_WRITER_WAIT_MS = 10_000;

/** The Web Locks of this environment, if it has them (browsers, on secure origins). */
export function environmentLocks(): WriterLocks | null {
  const navigator = (globalThis as { navigator?: { locks?: WriterLocks } }).navigator;
  return navigator?.locks ?? null;
}

/**
 * Takes the exclusive Web Lock `name` for a store's one writer, held until `release()` (the
 * browser frees it when the tab goes). A writer that asks while another holds it waits up to
 * `waitMs` (a tab taking over from one that is closing its store), then is refused with
 * `storage_locked`. Where there are no Web Locks (`locks` null) it holds nothing; the adapter
 * then guards its commits some other way.
 */
export async function claimWriterLock(
  name: string,
  options: { locks?: WriterLocks | null; waitMs?: number } = {},
): Promise<WriterLock> {
  const locks = options.locks === undefined ? environmentLocks() : options.locks;
  if (!locks) return { mechanism: 'none', release: () => {} };
  const waitMs = options.waitMs ?? DEFAULT_WRITER_WAIT_MS;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let granted!: () => void;
  const grant = new Promise<void>((resolve) => {
    granted = resolve;
  });
  const request = locks.request(name, { mode: 'exclusive', signal: abort.signal }, () => {
    clearTimeout(timer);
    granted();
    return held;
  });
  await Promise.race([
    grant,
    request.then(
      () => grant,
      (error: unknown) => {
        clearTimeout(timer);
        throw new LocalFirstError(
          ERROR_CODES.storageLocked,
          abort.signal.aborted
            ? `another writer holds "${name}" (another tab or window of this app); waited ${waitMs} ms`
            : `the lock "${name}" could not be taken`,
          { cause: error, details: { lock: name, waitMs } },
        );
      },
    ),
  ]);
  return { mechanism: 'locks', release };
}

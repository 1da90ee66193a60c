import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DEFAULT_NAMESPACE,
  ERROR_CODES,
  LocalFirstError,
  type QuerySpec,
  type StorageAdapter,
  type StorageCapabilities,
  type StoredEvent,
  type StoredRecord,
  type SyncStatus,
} from '@local-first/core';
import {
  type EventQuery,
  SerialQueue,
  type StorageTransaction,
  storageClosedError,
  storageFailure,
} from '@local-first/core/adapter';
import { decode, encode, type Space, SpaceView } from './space.js';

/** Flush every commit to the disk before its promise resolves, unless told otherwise. */
export const DEFAULT_SYNC_WRITES = true;

/** Appended to `path` for the file each commit writes before it replaces the real one. */
export const TEMP_FILE_SUFFIX = '.tmp';

/** Options of `JsonFileStorageAdapter`. */
export interface JsonFileStorageOptions {
  /** The JSON file that holds every namespace. It and its folder are made on the first commit. */
  path: string;
  /**
   * `fsync` each commit before its promise resolves, so a power cut loses nothing that was
   * acknowledged. Default `DEFAULT_SYNC_WRITES`; turn it off only for data you can lose.
   */
  syncWrites?: boolean;
}

/**
 * A `StorageAdapter` that keeps its state in memory and writes the whole of it to one JSON
 * file after every committed change. The file is replaced atomically (a temporary file, then
 * a rename), so after a crash it holds either the last commit or the one before, never half.
 *
 * Every call waits its turn in one `SerialQueue`, and each call outside `transaction()` is a
 * transaction of its own. A transaction writes straight into the state; when it fails, the
 * state is read back from the text of the last commit. Inside `transaction()`, use only the
 * `tx` it hands you: a call on the adapter itself would wait for the transaction that is
 * waiting for it. Queries run over the records in memory (`evaluateQuery`), so the adapter
 * suits data sets of a few thousand records, not millions.
 */
export class JsonFileStorageAdapter implements StorageAdapter {
  readonly name = 'json-file';
  readonly capabilities: StorageCapabilities = { persistent: true, nativeQuery: false };
  private readonly path: string;
  private readonly syncWrites: boolean;
  private readonly queue = new SerialQueue();
  private spaces = new Map<string, Space>();
  /** The text of the last commit: what a failed transaction goes back to. */
  private committed = encode(new Map());
  private current = DEFAULT_NAMESPACE;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: JsonFileStorageOptions) {
    if (typeof options?.path !== 'string' || options.path === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'options.path is required');
    }
    this.path = options.path;
    this.syncWrites = options.syncWrites ?? DEFAULT_SYNC_WRITES;
  }

  get namespace(): string {
    return this.current;
  }

  open(): Promise<void> {
    if (this.closing) return Promise.reject(storageClosedError());
    this.opening ??= this.load();
    return this.opening;
  }

  private async load(): Promise<void> {
    if (!this.queue.beginOpen()) return;
    try {
      const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (text !== undefined) {
        this.spaces = decode(text);
        this.committed = text;
      }
      this.queue.endOpen(true);
    } catch (error) {
      this.queue.endOpen(false);
      this.opening = undefined;
      throw storageFailure(`could not read ${this.path}`, error);
    }
  }

  async useNamespace(namespace: string): Promise<void> {
    if (typeof namespace !== 'string' || namespace === '') {
      throw new LocalFirstError(ERROR_CODES.invalidArgument, 'a namespace needs a name');
    }
    await this.queue.run(() => {
      this.current = namespace;
    });
  }

  close(): Promise<void> {
    // Every commit is on disk when it resolves, so closing only waits for the queued calls.
    // It refuses new calls at once, unless open() is still reading: then it waits for that.
    const shutdown = () => this.queue.close(async () => {});
    const reading = this.opening !== undefined && !this.queue.isOpen;
    this.closing ??= (reading ? this.opening!.catch(() => {}).then(shutdown) : shutdown()).then(
      () => undefined,
    );
    return this.closing;
  }

  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    return this.queue.run(() => this.commit(work));
  }

  getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    return this.transaction((tx) => tx.getRecord(repository, id));
  }
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    return this.transaction((tx) => tx.queryRecords(repository, query));
  }
  getEvent(eventId: string): Promise<StoredEvent | undefined> {
    return this.transaction((tx) => tx.getEvent(eventId));
  }
  hasEvent(eventId: string): Promise<boolean> {
    return this.transaction((tx) => tx.hasEvent(eventId));
  }
  getEvents(query?: EventQuery): Promise<StoredEvent[]> {
    return this.transaction((tx) => tx.getEvents(query));
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.transaction((tx) => tx.getMeta(key));
  }
  putRecord(repository: string, record: StoredRecord): Promise<void> {
    return this.transaction((tx) => tx.putRecord(repository, record));
  }
  appendEvent(event: StoredEvent): Promise<void> {
    return this.transaction((tx) => tx.appendEvent(event));
  }
  setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    return this.transaction((tx) => tx.setEventStatus(eventIds, status));
  }
  setMeta(key: string, value: string | undefined): Promise<void> {
    return this.transaction((tx) => tx.setMeta(key, value));
  }
  clearRepository(repository: string): Promise<void> {
    return this.transaction((tx) => tx.clearRepository(repository));
  }

  /** Runs `work` on a view of the current namespace; saves what it wrote, or undoes it. */
  private async commit<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    const view = new SpaceView(this.space());
    let result: T;
    try {
      result = await work(view);
    } catch (error) {
      view.end();
      if (view.wrote) this.spaces = decode(this.committed);
      throw error;
    }
    view.end();
    if (!view.wrote) return result;
    try {
      await this.save();
    } catch (error) {
      this.spaces = decode(this.committed);
      throw storageFailure(`could not write ${this.path}`, error);
    }
    return result;
  }

  /** Writes the whole state to a temporary file, then renames it over the real one. */
  private async save(): Promise<void> {
    const text = encode(this.spaces);
    const temp = `${this.path}${TEMP_FILE_SUFFIX}`;
    await mkdir(dirname(this.path), { recursive: true });
    const file = await open(temp, 'w');
    try {
      await file.writeFile(text, 'utf8');
      if (this.syncWrites) await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.path);
    if (this.syncWrites) await syncFolder(dirname(this.path));
    this.committed = text;
  }

  private space(): Space {
    let space = this.spaces.get(this.current);
    if (!space) {
      space = { records: new Map(), events: new Map(), meta: new Map() };
      this.spaces.set(this.current, space);
    }
    return space;
  }
}

/** Makes the rename itself durable. Some platforms (Windows) cannot sync a folder: skipped. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  try {
    await handle?.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

import { describeStorageAdapter } from '@local-first/contract';
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
import type { EventQuery, StorageTransaction } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '../src/index.js';

/**
 * The memory adapter is not persistent, so the suite skips its close-and-reopen tests over it.
 * This double keeps one MemoryStorageAdapter alive across adapter instances and declares
 * `persistent: true`, so those tests, and the suite's reopen plumbing, run in this package too.
 */
class ReopenableMemoryAdapter implements StorageAdapter {
  readonly name = 'memory-reopenable';
  readonly capabilities: StorageCapabilities = { persistent: true, nativeQuery: false };
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(private readonly backing: MemoryStorageAdapter) {}

  get namespace(): string {
    return this.state === 'open' ? this.backing.namespace : DEFAULT_NAMESPACE;
  }

  async open(): Promise<void> {
    if (this.state === 'closed') throw new LocalFirstError(ERROR_CODES.closed, 'adapter is closed');
    this.state = 'open';
    // Like a restart: whatever namespace the previous instance used, a new one starts in default.
    await this.backing.useNamespace(DEFAULT_NAMESPACE);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // The backing adapter runs calls in order, so this one settles after every earlier call.
    await this.backing.getMeta('');
  }

  useNamespace(namespace: string): Promise<void> {
    return this.guard(() => this.backing.useNamespace(namespace));
  }
  transaction<T>(work: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    return this.guard(() => this.backing.transaction(work));
  }
  getRecord(repository: string, id: string): Promise<StoredRecord | undefined> {
    return this.guard(() => this.backing.getRecord(repository, id));
  }
  queryRecords(repository: string, query: QuerySpec): Promise<StoredRecord[]> {
    return this.guard(() => this.backing.queryRecords(repository, query));
  }
  getEvent(eventId: string): Promise<StoredEvent | undefined> {
    return this.guard(() => this.backing.getEvent(eventId));
  }
  hasEvent(eventId: string): Promise<boolean> {
    return this.guard(() => this.backing.hasEvent(eventId));
  }
  getEvents(query?: EventQuery): Promise<StoredEvent[]> {
    return this.guard(() => this.backing.getEvents(query));
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.guard(() => this.backing.getMeta(key));
  }
  putRecord(repository: string, record: StoredRecord): Promise<void> {
    return this.guard(() => this.backing.putRecord(repository, record));
  }
  appendEvent(event: StoredEvent): Promise<void> {
    return this.guard(() => this.backing.appendEvent(event));
  }
  setEventStatus(eventIds: readonly string[], status: SyncStatus): Promise<void> {
    return this.guard(() => this.backing.setEventStatus(eventIds, status));
  }
  setMeta(key: string, value: string | undefined): Promise<void> {
    return this.guard(() => this.backing.setMeta(key, value));
  }
  clearRepository(repository: string): Promise<void> {
    return this.guard(() => this.backing.clearRepository(repository));
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.state === 'open') return call();
    const code = this.state === 'closed' ? ERROR_CODES.closed : ERROR_CODES.notInitialized;
    return Promise.reject(new LocalFirstError(code, `adapter is ${this.state}`));
  }
}

describeStorageAdapter('memory, reopened over the same maps', async () => {
  const backing = new MemoryStorageAdapter();
  await backing.open();
  return {
    adapter: new ReopenableMemoryAdapter(backing),
    reopen: async () => new ReopenableMemoryAdapter(backing),
    teardown: () => backing.close(),
  };
});

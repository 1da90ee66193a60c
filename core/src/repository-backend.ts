import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { LocalWrites } from './local-writes.js';
import type { StoredEvent } from './model.js';
import { type ChangeFeeds, deepFreeze, recordItem } from './record-changes.js';
import type { AnyRepository, RepositoryBackend } from './repository.js';
import type { StorageAdapter } from './storage.js';

/** The parts of a client its repositories reach through their backend. */
export interface RepositoryBackendParts {
  storage: StorageAdapter;
  writes: LocalWrites;
  feeds: ChangeFeeds;
  /** Throws unless the client is ready. */
  assertReady(): void;
  /** The client's repository of that name; throws `unknown_repository`. */
  repository(name: string): AnyRepository;
  pendingEvents(repository: string): Promise<StoredEvent[]>;
}

/** What a client's repositories call: its writes, reads, queries and change feeds. */
export function repositoryBackend(parts: RepositoryBackendParts): RepositoryBackend {
  const { storage, writes, feeds } = parts;
  const item = (repository: string) => {
    const { idField } = parts.repository(repository);
    return (record: Parameters<typeof recordItem>[1]) => recordItem(idField, record);
  };
  return {
    write: async (repository, id, data, options) =>
      (await writes.write(repository, [{ id, data }], options))[0],
    writeMany: (repository, changes, options) => writes.write(repository, changes, options),
    read: async (repository, id, includeDeleted) => {
      parts.assertReady();
      const toItem = item(repository);
      const record = await storage.getRecord(repository, id);
      if (!record || (record.deleted && !includeDeleted)) return undefined;
      return toItem(record);
    },
    queryRows: async (repository, spec) => {
      parts.assertReady();
      const toItem = item(repository);
      const records = await storage.queryRecords(repository, spec);
      // The adapter's records are copies: frozen in place, they need no second one.
      return records.map((record) => ({ record, item: deepFreeze(toItem(record)) }));
    },
    query: async (repository, spec) => {
      parts.assertReady();
      const toItem = item(repository);
      const records = await storage.queryRecords(repository, spec);
      return records.map(toItem);
    },
    changes: (repository) => {
      const feed = feeds.of(repository);
      if (!feed) {
        throw new LocalFirstError(
          ERROR_CODES.unknownRepository,
          `no repository named "${repository}"`,
        );
      }
      return feed;
    },
    track: (work) => feeds.track(work),
    pendingEvents: (repository) => parts.pendingEvents(repository),
  };
}

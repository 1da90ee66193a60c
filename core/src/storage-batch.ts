import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { StoredEvent, StoredRecord, SyncStatus } from './model.js';
import type { StorageReader, StorageWriter } from './storage.js';

// The optional batch methods of a storage adapter, with a fallback to the single calls for
// adapters that leave them out. The client only ever goes through these helpers.

/** The states of many records of one repository; ids never written are absent. */
export async function readRecords(
  reader: StorageReader,
  repository: string,
  ids: readonly string[],
): Promise<Map<string, StoredRecord>> {
  if (reader.getRecords) return reader.getRecords(repository, ids);
  const found = new Map<string, StoredRecord>();
  for (const id of ids) {
    if (found.has(id)) continue;
    const record = await reader.getRecord(repository, id);
    if (record) found.set(id, record);
  }
  return found;
}

/** The sync status of each of these events the log holds; ids not in it are absent. */
export async function readEventStatuses(
  reader: StorageReader,
  eventIds: readonly string[],
): Promise<Map<string, SyncStatus>> {
  if (reader.getEventStatuses) return reader.getEventStatuses(eventIds);
  const found = new Map<string, SyncStatus>();
  for (const eventId of eventIds) {
    if (found.has(eventId)) continue;
    const event = await reader.getEvent(eventId);
    if (event) found.set(eventId, event.syncStatus);
  }
  return found;
}

/** Creates or replaces many records of one repository. */
export async function writeRecords(
  writer: StorageWriter,
  repository: string,
  records: readonly StoredRecord[],
): Promise<void> {
  if (records.length === 0) return;
  if (writer.putRecords) return writer.putRecords(repository, records);
  for (const record of records) await writer.putRecord(repository, record);
}

/**
 * Appends events in order. Through the single-call fallback a duplicate fails midway, so
 * call it inside a transaction when all-or-nothing matters (the client always does).
 */
export async function appendEvents(
  writer: StorageWriter,
  events: readonly StoredEvent[],
): Promise<void> {
  if (events.length === 0) return;
  if (writer.appendEvents) return writer.appendEvents(events);
  for (const event of events) await writer.appendEvent(event);
}

/** The error an adapter gives for an event id the log (or the same batch) already holds. */
export function duplicateEventError(eventId: string): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.duplicateEvent, `event ${eventId} is already in the log`, {
    details: { eventId },
  });
}

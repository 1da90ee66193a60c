import {
  compareStamps,
  eventHlc,
  type JsonFields,
  type RecordData,
  type StoredRecord,
  type SyncEvent,
} from './model.js';
import { eventRecord } from './validation.js';

/** One side of a conflict: a record state (`data` is `null` for a tombstone) and its stamp. */
export type ConflictSide<T extends JsonFields<T> = RecordData> = Omit<StoredRecord, 'data'> & {
  /** The record's fields, or `null` for a tombstone. */
  data: T | null;
};

/**
 * Decides the state of a record when a remote event meets a local state. Returns the data to
 * keep, or `null` to keep a tombstone. Replicas converge only if the resolver gives the same
 * answer whatever order the events arrive in: it must be commutative, associative and
 * idempotent (last-writer-wins is).
 */
export type ConflictResolver<T extends JsonFields<T> = RecordData> = (
  local: ConflictSide<T>,
  remote: ConflictSide<T>,
) => T | null;

/** The record state an event produces on its own. */
export function stateFromEvent(event: SyncEvent): StoredRecord {
  const data = eventRecord(event);
  return {
    id: event.dataId,
    data,
    deleted: data === null,
    hlc: eventHlc(event),
    eventId: event.eventId,
  };
}

/**
 * The new state of a record after a remote event, or `undefined` when the current state stays.
 * Default: last-writer-wins by (hlc, eventId), tombstones included, so a late update cannot
 * resurrect a record deleted after it.
 */
export function resolveRemoteEvent(
  current: StoredRecord | undefined,
  event: SyncEvent,
  resolver?: ConflictResolver,
): StoredRecord | undefined {
  const incoming = stateFromEvent(event);
  if (!current) return incoming;
  const order = compareStamps(incoming, current);
  if (!resolver) return order > 0 ? incoming : undefined;
  const data = resolver(current, incoming);
  const newest = order > 0 ? incoming : current;
  return { id: current.id, data, deleted: data === null, hlc: newest.hlc, eventId: newest.eventId };
}

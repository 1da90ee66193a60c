import { hlcFromTimestamp } from './hlc.js';

/** A JSON value, as records and events carry them. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A record: a JSON object. Its id lives in one of its fields (`id` unless configured). */
export type RecordData = { [key: string]: JsonValue };

/**
 * What a field of a record may hold: JSON, nested objects and arrays of JSON, or `undefined`
 * for an optional field (it is left out when stored). Dates, functions, maps and class
 * instances are not JSON and do not qualify.
 */
export type JsonField<V> = V extends JsonValue | undefined
  ? V
  : V extends (...args: never[]) => unknown
    ? never
    : V extends readonly (infer U)[]
      ? readonly JsonField<U>[]
      : V extends object
        ? JsonFields<V>
        : never;

/**
 * The constraint a record type meets: every field is JSON (`JsonField`). Plain interfaces
 * qualify as they are: `interface Todo { id: string; title: string }` needs no index
 * signature, so `todo.tittle` stays a type error.
 */
export type JsonFields<T> = { [K in keyof T]: JsonField<T[K]> };

/** The operation of an event, numbered as on the wire. */
export const SyncOperation = {
  /** The record is created. */
  insert: 0,
  /** The record is replaced by the event's `data`. */
  update: 1,
  /** The record becomes a tombstone. */
  delete: 2,
} as const;
export type SyncOperation = (typeof SyncOperation)[keyof typeof SyncOperation];

/** Where a local event stands with the server. */
export const SyncStatus = {
  /** Written locally, not yet acknowledged by a server. */
  pending: 'pending',
  /** Acknowledged by a server, received from one, or never meant to sync. */
  ok: 'ok',
  /** Rejected by a server; it will not be re-sent. */
  failed: 'failed',
} as const;
export type SyncStatus = (typeof SyncStatus)[keyof typeof SyncStatus];

/**
 * An immutable change to one record, as it travels on the wire. It carries the full record
 * after the change, so re-sending an old event sends the state of that moment.
 */
export interface SyncEvent {
  /** Globally unique id (UUID v7); the dedup key everywhere. */
  eventId: string;
  /** Insert, update or delete. */
  operation: SyncOperation;
  /** The writer's wall clock, ISO-8601 UTC; informational. */
  createdAt: string;
  /** Id of the record the event changes. */
  dataId: string;
  /** Full record after the change; `null` for deletes. */
  data: RecordData | null;
  /** Hybrid logical clock stamp; when absent, `createdAt` is the stamp. */
  hlc?: string;
  /** Set by the server: per-repository sequence in commit order. */
  serverSequence?: number;
  /** Set by the server: its wall clock at the commit. */
  serverCreatedAt?: string;
}

/** An event as a client keeps it in its log. */
export interface StoredEvent extends SyncEvent {
  /** The repository the event belongs to. */
  repository: string;
  /** Whether a server has acknowledged, rejected or not yet seen it. */
  syncStatus: SyncStatus;
  /** True when the event was written on this device, false when it came from a server. */
  local: boolean;
}

/**
 * The current state of one record in a repository: the data of the event that won, or a
 * tombstone when that event was a delete. `hlc` + `eventId` form the stamp that later events
 * are compared against.
 */
export interface StoredRecord {
  /** The record's id (the `dataId` of its events). */
  id: string;
  /** The record, or `null` for a tombstone. */
  data: RecordData | null;
  /** True for a tombstone: the winning event was a delete. */
  deleted: boolean;
  /** Stamp of the event that produced this state. */
  hlc: string;
  /** The event that produced this state; breaks ties between equal `hlc`s. */
  eventId: string;
}

/** The stamp that orders events: the clock first, the eventId as tie-break. */
export interface Stamp {
  /** The clock: the event's `hlc`, or one made from its `createdAt`. */
  hlc: string;
  /** The tie-break between equal clocks. */
  eventId: string;
}

/** An event as it goes on the wire: the stored event without its local bookkeeping. */
export function toWireEvent(event: StoredEvent): SyncEvent {
  const wire: SyncEvent = {
    eventId: event.eventId,
    operation: event.operation,
    createdAt: event.createdAt,
    dataId: event.dataId,
    data: event.data,
  };
  copyOptionalFields(event, wire);
  return wire;
}

/**
 * An event as a log keeps it: the wire fields (`data` as given, not copied) and the
 * bookkeeping. Built field by field, so every stored event has the same shape.
 */
export function toStoredEvent(
  event: SyncEvent,
  bookkeeping: { repository: string; syncStatus: SyncStatus; local: boolean },
  data: RecordData | null = event.data,
): StoredEvent {
  const stored: StoredEvent = {
    eventId: event.eventId,
    operation: event.operation,
    createdAt: event.createdAt,
    dataId: event.dataId,
    data,
    repository: bookkeeping.repository,
    syncStatus: bookkeeping.syncStatus,
    local: bookkeeping.local,
  };
  copyOptionalFields(event, stored);
  return stored;
}

function copyOptionalFields(from: SyncEvent, to: SyncEvent): void {
  if (from.hlc !== undefined) to.hlc = from.hlc;
  if (from.serverSequence !== undefined) to.serverSequence = from.serverSequence;
  if (from.serverCreatedAt !== undefined) to.serverCreatedAt = from.serverCreatedAt;
}

/** The stamp of an event; an event without `hlc` (a seed-era client) is stamped by `createdAt`. */
export function eventStamp(event: Pick<SyncEvent, 'hlc' | 'createdAt' | 'eventId'>): Stamp {
  return { hlc: eventHlc(event), eventId: event.eventId };
}

/** The clock part of `eventStamp`: `hlc`, or `createdAt` as a stamp when there is none. */
export function eventHlc(event: Pick<SyncEvent, 'hlc' | 'createdAt'>): string {
  return event.hlc ?? hlcFromTimestamp(event.createdAt);
}

/** Orders two stamps: negative when `a` is older, positive when newer, 0 when equal. */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  if (a.eventId !== b.eventId) return a.eventId < b.eventId ? -1 : 1;
  return 0;
}

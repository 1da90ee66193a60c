import { cloneJson } from './clone.js';
import { type ConflictResolver, resolveRemoteEvent } from './conflict.js';
import { type HlcState, HybridLogicalClock, isHlcStamp } from './hlc.js';
import { randomId, uuidv7 } from './id.js';
import {
  eventHlc,
  type RecordData,
  type StoredEvent,
  type StoredRecord,
  type SyncEvent,
  toStoredEvent,
} from './model.js';
import type { StorageAdapter, StorageTransaction } from './storage.js';
import { appendEvents, readEventStatuses, readRecords, writeRecords } from './storage-batch.js';
import type { ApplyResult, RemoteCursor } from './sync-strategy.js';
import { rollBackRecords } from './verdicts.js';

// The transactional steps of the client: what a local write and a remote batch store, and
// how a client finds its identity. Kept apart from the client's lifecycle code.

const META_CLIENT_ID = 'client:id';
const META_CLOCK = 'client:hlc';

/** Reads (or creates) the client id and the saved clock of the current namespace. */
export async function loadIdentity(
  storage: StorageAdapter,
  now: () => number,
): Promise<{ clientId: string; clock: HybridLogicalClock }> {
  let clientId = await storage.getMeta(META_CLIENT_ID);
  if (!clientId) {
    clientId = randomId();
    await storage.setMeta(META_CLIENT_ID, clientId);
  }
  const saved = await storage.getMeta(META_CLOCK);
  const state = saved ? (JSON.parse(saved) as HlcState) : undefined;
  return {
    clientId,
    clock: new HybridLogicalClock({ nodeId: clientId, now, ...(state ? { state } : {}) }),
  };
}

/** One local change: a record's new data, or `null` to delete it. */
export interface LocalChange {
  /** The record's id. */
  id: string;
  /** The record's new fields; `null` deletes it. */
  data: RecordData | null;
}

/** What a local write needs besides its changes. */
export interface LocalWrite {
  clock: HybridLogicalClock;
  now: () => number;
  repository: string;
  needSync: boolean;
  /** Throws when an event must not be stored (a strategy could never push it). */
  check?: (event: StoredEvent) => void;
  /** Other clients write to the same store (`StorageAdapter.externalCommits`): read the clock. */
  shared?: boolean;
}

/**
 * Stores local changes of one repository in the caller's transaction: one event each, with
 * its snapshot, the records' new states and the clock, with a handful of batch calls however
 * many there are. A delete of a record that is absent or already deleted (by then) writes
 * nothing. Returns the events in the order of the changes.
 */
export async function writeLocalEvents(
  tx: StorageTransaction,
  write: LocalWrite,
  changes: readonly LocalChange[],
): Promise<StoredEvent[]> {
  const { clock, repository } = write;
  if (write.shared) {
    // Another client over the same store (another tab) may have issued stamps since.
    const saved = await tx.getMeta(META_CLOCK);
    if (saved) clock.catchUp(JSON.parse(saved) as HlcState);
  }
  const states =
    changes.length === 1
      ? singleState(changes[0]!.id, await tx.getRecord(repository, changes[0]!.id))
      : await readRecords(
          tx,
          repository,
          changes.map((change) => change.id),
        );
  const events: StoredEvent[] = [];
  const records = new Map<string, StoredRecord>();
  for (const { id, data } of changes) {
    const current = states.get(id);
    if (data === null && (!current || current.deleted)) continue;
    const hlc = clock.now();
    const wall = write.now();
    const event: StoredEvent = {
      eventId: uuidv7(wall),
      operation: data === null ? 2 : current && !current.deleted ? 1 : 0,
      createdAt: new Date(wall).toISOString(),
      dataId: id,
      data: data === null ? null : cloneJson(data),
      hlc,
      repository,
      syncStatus: write.needSync ? 'pending' : 'ok',
      local: true,
    };
    write.check?.(event);
    events.push(event);
    const record = { id, data: event.data, deleted: data === null, hlc, eventId: event.eventId };
    states.set(id, record);
    records.set(id, record);
  }
  if (events.length === 0) return events;
  await appendEvents(tx, events);
  if (records.size === 1) await tx.putRecord(repository, records.values().next().value!);
  else await writeRecords(tx, repository, [...records.values()]);
  await tx.setMeta(META_CLOCK, JSON.stringify(clock.state));
  return events;
}

function singleState(id: string, record: StoredRecord | undefined): Map<string, StoredRecord> {
  const states = new Map<string, StoredRecord>();
  if (record) states.set(id, record);
  return states;
}

/**
 * Stores a batch of validated remote events in the caller's transaction: each eventId once,
 * record states resolved, the clock advanced past every stamp, and the cursor. An event this
 * client wrote and still had pending is marked synced: the server holds it. The storage is
 * reached with a handful of batch calls per batch, not several per event.
 */
export async function applyRemoteBatch(
  tx: StorageTransaction,
  batch: {
    clock: HybridLogicalClock;
    repository: string;
    events: readonly SyncEvent[];
    resolver: ConflictResolver | undefined;
    cursor: RemoteCursor | undefined;
    result: ApplyResult;
  },
): Promise<void> {
  const { clock, repository, result } = batch;
  const remote = { repository, syncStatus: 'ok' as const, local: false };
  const ids = batch.events.map((event) => event.eventId);
  // The statuses of ids the log holds; each fresh id joins them as it is taken, so an id that
  // comes twice in one batch is applied once.
  const statuses = await readEventStatuses(tx, ids);
  const fresh: SyncEvent[] = [];
  const confirmed: string[] = [];
  // This client's own events that a verdict failed but the server holds after all.
  const revived = new Set<string>();
  for (const event of batch.events) {
    const status = statuses.get(event.eventId);
    if (status !== undefined) {
      if (status === 'pending' || status === 'failed') confirmed.push(event.eventId);
      statuses.set(event.eventId, 'ok');
      if (status === 'failed') {
        revived.add(event.dataId);
        result.applied.push(event.eventId);
      } else result.skipped.push(event.eventId);
      continue;
    }
    statuses.set(event.eventId, 'ok');
    fresh.push(event);
  }
  if (confirmed.length > 0) await tx.setEventStatus(confirmed, 'ok');
  if (revived.size > 0) await rollBackRecords(tx, repository, revived, batch.resolver);
  if (fresh.length > 0) {
    const states = await readRecords(
      tx,
      repository,
      fresh.map((event) => event.dataId),
    );
    const changed = new Map<string, StoredRecord>();
    const stored = new Array<StoredEvent>(fresh.length);
    let newest: string | undefined;
    for (let index = 0; index < fresh.length; index++) {
      const event = fresh[index]!;
      const stamp = eventHlc(event);
      if (isHlcStamp(stamp) && (newest === undefined || stamp > newest)) newest = stamp;
      const next = resolveRemoteEvent(states.get(event.dataId), event, batch.resolver);
      if (next) {
        states.set(event.dataId, next);
        changed.set(event.dataId, next);
      }
      stored[index] = toStoredEvent(event, remote);
      result.applied.push(event.eventId);
    }
    if (newest !== undefined) clock.receive(newest);
    await writeRecords(tx, repository, [...changed.values()]);
    await appendEvents(tx, stored);
  }
  if (batch.cursor) await tx.setMeta(batch.cursor.key, batch.cursor.value);
  if (result.applied.length > 0) await tx.setMeta(META_CLOCK, JSON.stringify(clock.state));
}

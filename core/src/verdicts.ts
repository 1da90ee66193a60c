import type { ConflictResolver } from './conflict.js';
import { resolveRemoteEvent } from './conflict.js';
import type { StoredEvent, StoredRecord } from './model.js';
import type { RejectionCode } from './protocol.js';
import type { StorageTransaction } from './storage.js';
import { readEventStatuses } from './storage-batch.js';
import type { Rejection, Verdict } from './sync-strategy.js';

// Final verdicts on local events: what the client stores when a server refuses a change or a
// strategy finds that it can never be pushed, or when a server takes a repository away.

const FORBIDDEN: RejectionCode = 'forbidden';

/**
 * Marks the events of these verdicts failed and rolls their records back, in the caller's
 * transaction. Only this device's own events still awaiting a verdict count; the others are
 * left alone. Returns the verdicts that took effect; the records it wrote reach the watches
 * through the client's change log.
 */
export async function applyVerdicts(
  tx: StorageTransaction,
  verdicts: readonly Verdict[],
  resolverOf: (repository: string) => ConflictResolver | undefined,
): Promise<Rejection[]> {
  const byRepository = new Map<string, Set<string>>();
  const rejections: Rejection[] = [];
  await (async () => {
    const judged = new Set<string>();
    for (const verdict of verdicts) {
      if (judged.has(verdict.eventId)) continue;
      judged.add(verdict.eventId);
      const event = await tx.getEvent(verdict.eventId);
      // An event the server acknowledged is in its log: a verdict on an earlier push of it
      // (applied late, after the event was sent again and taken) no longer holds.
      if (!event?.local || event.syncStatus !== 'pending') continue;
      rejections.push({
        eventId: verdict.eventId,
        code: verdict.code,
        message: verdict.message,
        source: verdict.source,
        repository: event.repository,
        dataId: event.dataId,
      });
      const ids = byRepository.get(event.repository) ?? new Set<string>();
      byRepository.set(event.repository, ids);
      ids.add(event.dataId);
    }
    if (rejections.length === 0) return;
    await tx.setEventStatus(
      rejections.map((rejection) => rejection.eventId),
      'failed',
    );
    for (const [repository, ids] of byRepository)
      await rollBackRecords(tx, repository, ids, resolverOf(repository));
  })();
  return rejections;
}

/**
 * Marks events acknowledged by a server, in the caller's transaction. The server holds each
 * of them, so one that a verdict had failed meanwhile (a verdict on an earlier push, applied
 * after the event was sent again and taken) counts again, and its record is folded anew.
 */
export async function acknowledgeEvents(
  tx: StorageTransaction,
  eventIds: readonly string[],
  resolverOf: (repository: string) => ConflictResolver | undefined,
): Promise<void> {
  const statuses = await readEventStatuses(tx, eventIds);
  await tx.setEventStatus(eventIds, 'ok');
  const byRepository = new Map<string, Set<string>>();
  for (const [eventId, status] of statuses) {
    if (status !== 'failed') continue;
    const event = await tx.getEvent(eventId);
    if (!event) continue;
    const ids = byRepository.get(event.repository) ?? new Set<string>();
    byRepository.set(event.repository, ids);
    ids.add(event.dataId);
  }
  for (const [repository, ids] of byRepository)
    await rollBackRecords(tx, repository, ids, resolverOf(repository));
}

/** The state a record has when no event of it counts: it loses to every real stamp. */
function unwrittenState(id: string): StoredRecord {
  return { id, data: null, deleted: true, hlc: '', eventId: '' };
}

/**
 * Puts records back to the state their events still support, in the caller's transaction:
 * every event of the record but the failed ones (acknowledged, received and still pending
 * alike), folded as a replica folds them. A record left with no such event gets a tombstone
 * with an empty stamp, which reads as absent and loses to any event that arrives later.
 */
export async function rollBackRecords(
  tx: StorageTransaction,
  repository: string,
  ids: ReadonlySet<string>,
  resolver: ConflictResolver | undefined,
): Promise<void> {
  const folded = new Map<string, StoredRecord | undefined>();
  for (const event of await tx.getEvents({ repository })) {
    if (!ids.has(event.dataId) || event.syncStatus === 'failed') continue;
    const current = folded.get(event.dataId);
    folded.set(event.dataId, resolveRemoteEvent(current, event, resolver) ?? current);
  }
  for (const id of ids) {
    const next = folded.get(id);
    if (!next && !(await tx.getRecord(repository, id))) continue;
    await tx.putRecord(repository, next ?? unwrittenState(id));
  }
}

/**
 * Marks this device's own acknowledged events of a repository pending again and returns them
 * as pending (see `SyncHost.requeueLocalEvents`).
 */
export async function requeueLocalEvents(
  tx: StorageTransaction,
  repository: string,
): Promise<StoredEvent[]> {
  const events = (await tx.getEvents({ repository, status: 'ok' })).filter((event) => event.local);
  if (events.length === 0) return [];
  await tx.setEventStatus(
    events.map((event) => event.eventId),
    'pending',
  );
  return events.map((event) => ({ ...event, syncStatus: 'pending' as const }));
}

/**
 * Drops a repository the server no longer lets this account read, in the caller's transaction:
 * its records, its events and the given meta keys (cursors). Its pending local changes go with
 * it; they come back as `forbidden` rejections, as the server would refuse them now.
 */
export async function dropRepository(
  tx: StorageTransaction,
  repository: string,
  metaKeys: readonly string[],
): Promise<Rejection[]> {
  const pending = await tx.getEvents({ repository, status: 'pending' });
  await tx.clearRepository(repository);
  for (const key of metaKeys) await tx.setMeta(key, undefined);
  return pending
    .filter((event) => event.local)
    .map((event) => ({
      eventId: event.eventId,
      code: FORBIDDEN,
      message: `read access to "${repository}" was revoked; the change was dropped`,
      source: 'server' as const,
      repository,
      dataId: event.dataId,
    }));
}

import type { StoredRecord, SyncEvent } from '@local-first/core';
import { resolveRemoteEvent } from '@local-first/core/adapter';
import { checkInvariants, serverView, violation } from './invariants.js';
import { REPOSITORIES, tooLargeForAFrame, type World } from './world.js';

/** Once the faults stop, `whenSynced()` must become true within this much fake time. */
export const SYNC_BOUND_MS = 60_000;

function visible(record: StoredRecord | undefined): string {
  return !record || record.deleted ? 'absent' : JSON.stringify(record.data).slice(0, 60);
}

/**
 * The end of a run: every fault stops (injected errors, forbidden writes, the slow disk; links
 * already cut stay dead, as real ones do, until the strategy gives them up), the client runs,
 * and then it must get synced within a bound and hold the server's last-writer-wins state.
 */
export async function settleAndCompare(world: World): Promise<void> {
  world.server.faults.clear();
  world.server.forbiddenWrites.clear();
  world.setDiskDelay(0);
  if (!world.running) await world.start();
  world.log.disturbed('faults stopped');

  let synced: boolean | undefined;
  void world.strategy.whenSynced(SYNC_BOUND_MS).then((value) => {
    synced = value;
  });
  for (let waited = 0; synced === undefined && waited <= SYNC_BOUND_MS + 1_000; waited += 1_000) {
    await world.advance(1_000);
    await checkInvariants(world, `${waited + 1_000} ms of healthy network`);
  }
  if (synced !== true) {
    const pending = (await world.clientEvents()).filter((event) => event.syncStatus === 'pending');
    const lastLink = world.network.links.at(-1);
    throw new Error(
      violation(world, 'the faults stopped', [
        `whenSynced() is ${synced} after ${SYNC_BOUND_MS} ms with a healthy network: ${pending.length} event(s) still pending${pending.some(tooLargeForAFrame) ? ' (some too large for any frame, never refused)' : ''}; on the last link #${lastLink?.id}: ${lastLink ? world.log.story(lastLink.id, Math.max(lastLink.openedAt, Date.now() - 20_000)) : 'none'}`,
      ]),
    );
  }
  // Broadcasts still on the wire land; nothing new is written meanwhile.
  await world.advance(3_000);
  await checkInvariants(world, 'the final settle');

  const view = await serverView(world);
  const log = await world.clientEvents();
  const problems: string[] = [];
  for (const repository of REPOSITORIES) {
    // The server's events, plus what this client still holds that a restore took from the
    // server; minus what a 1.1 server refuses and what the server rejected.
    const events: SyncEvent[] = [
      ...(view.events.get(repository) ?? []).filter((event) => !view.refusable.has(event.eventId)),
      ...log.filter(
        (event) =>
          event.repository === repository &&
          event.syncStatus !== 'failed' &&
          !view.ids.has(event.eventId) &&
          !world.badStamps.has(event.eventId),
      ),
    ];
    const expected = new Map<string, StoredRecord>();
    for (const event of events) {
      const next = resolveRemoteEvent(expected.get(event.dataId), event);
      if (next) expected.set(event.dataId, next);
    }
    const actual = new Map((await world.records(repository)).map((record) => [record.id, record]));
    for (const id of new Set([...expected.keys(), ...actual.keys()])) {
      const want = expected.get(id);
      const got = actual.get(id);
      if (visible(want) === visible(got)) continue;
      // A write too large for any frame may stay local once refused.
      const own = got && log.find((event) => event.eventId === got.eventId);
      if (own && own.syncStatus === 'failed' && tooLargeForAFrame(own)) continue;
      problems.push(
        `diverged: ${repository}/${id} is ${visible(got)} (event ${got?.eventId ?? '-'}) on the client but ${visible(want)} (event ${want?.eventId ?? '-'}) by last-writer-wins over the server's events`,
      );
    }
  }
  if (problems.length > 0) throw new Error(violation(world, 'syncing', problems.slice(0, 6)));
}

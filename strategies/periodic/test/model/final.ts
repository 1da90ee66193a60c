import type { StoredRecord, SyncEvent } from '@local-first/core';
import { resolveRemoteEvent } from '@local-first/core/adapter';
import { bounds, checkInvariants, MINUTE_MS, serverView, short, violation } from './invariants.js';
import { REPOSITORIES, type World } from './world.js';

function visible(record: StoredRecord | undefined): string {
  return !record || record.deleted ? 'absent' : JSON.stringify(record.data).slice(0, 60);
}

/** Time the world gets, once healed, to be synced: a full backoff, a round, and margin. */
function syncBound(world: World): number {
  const limits = bounds(world);
  return limits.push + limits.pull + 30_000;
}

/** Advances until `done()` holds, checking the invariants every second; false past `limitMs`. */
async function waitFor(
  world: World,
  what: string,
  done: () => boolean,
  limitMs: number,
): Promise<boolean> {
  for (let waited = 0; !done() && waited < limitMs; waited += 1_000) {
    await world.advance(1_000);
    await checkInvariants(world, `${waited + 1_000} ms of ${what}`);
  }
  return done();
}

/**
 * Everything the commands broke is mended: the server is up, no fault is armed, no proxy
 * limit, writes allowed, the token handed again if the strategy stopped for want of one, the
 * client started. Then it must get synced within a bound.
 */
async function heal(world: World): Promise<void> {
  const { server } = world;
  server.online = true;
  server.rest.clear();
  server.tooLargeArmed = 0;
  server.limitProxy(false);
  for (const repository of REPOSITORIES) server.forbid(repository, false);
  world.traffic.disturbed('healed');
  // A 401 already on its way may still stop the strategy: the app hands the token again.
  const renew = (state: string) => {
    if (state !== 'failed') return;
    queueMicrotask(() => world.renewToken());
  };
  world.strategy.stateChanges.subscribe(renew);
  if (!world.running) await world.settle(world.start(), 'start() after healing');

  // The other device pushes what it holds, so the model client can pull it.
  let otherSynced: boolean | undefined;
  void world.other.strategy.whenSynced(syncBound(world)).then((value) => {
    otherSynced = value;
  });
  await waitFor(
    world,
    'healing (other device)',
    () => otherSynced !== undefined,
    syncBound(world) + 2_000,
  );
  if (otherSynced !== true)
    throw new Error(
      violation(world, 'healing', [
        `the other device is not synced after ${syncBound(world)} ms (its state ${world.other.strategy.connectionState}, ${(await world.other.client.getPendingEvents()).length} pending)`,
      ]),
    );

  await synced(world, 'healing');
  // The strategy learns of a restore at its next round, which pushes again what was lost.
  await world.advance(world.config.syncInterval + 5_000);
  await synced(world, 'one more round');
}

/** `whenSynced()` must resolve true within the bound. */
async function synced(world: World, what: string): Promise<void> {
  let synced: boolean | undefined;
  void world.strategy.whenSynced(syncBound(world)).then((value) => {
    synced = value;
  });
  await waitFor(world, what, () => synced !== undefined, syncBound(world) + 2_000);
  if (synced !== true) {
    const pending = await world.device.client.getPendingEvents();
    throw new Error(
      violation(world, what, [
        `whenSynced() is ${synced} after ${syncBound(world)} ms with the world healed: ${pending.length} event(s) pending (oldest ${pending[0] ? `${pending[0].repository}/${pending[0].dataId}` : '-'}), strategy ${world.state}, batch limits ${JSON.stringify(world.strategy.batchLimits)}; last requests: ${world.traffic.story(16)}`,
      ]),
    );
  }
}

/** A quiet minute once synced: rounds every syncInterval, one poll per repository, no push. */
async function quietMinute(world: World): Promise<string[]> {
  const from = Date.now();
  for (let waited = 0; waited < MINUTE_MS; waited += 5_000) {
    await world.advance(5_000);
    await checkInvariants(world, `${waited + 5_000} ms of a quiet minute`);
  }
  const requests = world.traffic.between(from, Date.now());
  const polls = requests.filter((entry) => entry.method === 'GET').length;
  const pushes = requests.filter((entry) => entry.method === 'POST').length;
  // The interval runs from the end of a round: a round of two polls takes two round trips.
  const { syncInterval, latencyMs } = world.config;
  const roundMs = REPOSITORIES.length * 2 * latencyMs + 50;
  const least = REPOSITORIES.length * (Math.floor(MINUTE_MS / (syncInterval + roundMs)) - 1);
  const most = REPOSITORIES.length * (Math.ceil(MINUTE_MS / syncInterval) + 1);
  const problems: string[] = [];
  if (polls < least || polls > most || pushes > 0)
    problems.push(
      `in a quiet minute with syncInterval ${world.config.syncInterval} the strategy made ${polls} poll(s) and ${pushes} push(es); expected ${least}..${most} polls and no push (${world.traffic.story(8)})`,
    );
  if (world.state !== 'connected')
    problems.push(`the strategy is ${world.state} after a quiet minute, not connected`);
  return problems;
}

/**
 * The end of a run: the world is healed; within a bound the client is synced, and then every
 * local write is on the server exactly once or has a final verdict, the client's records are
 * the server's last-writer-wins fold, nothing is pending, the state is `connected`, and a
 * quiet minute polls at the interval.
 */
export async function healAndCompare(world: World): Promise<void> {
  await heal(world);
  const problems = await quietMinute(world);

  const view = await serverView(world);
  const log = await world.clientEvents();
  const byId = new Map(log.map((event) => [event.eventId, event]));
  const pending = log.filter((event) => event.syncStatus === 'pending');
  if (pending.length > 0)
    problems.push(
      `${pending.length} event(s) still pending once synced: ${pending.slice(0, 3).map((event) => `${event.repository}/${event.dataId}`)}`,
    );
  for (const [eventId, write] of world.localWrites) {
    const event = byId.get(eventId);
    const where = `${write.repository}/${write.dataId} (${short(eventId)})`;
    const stored = view.counts.get(eventId) ?? 0;
    if (!event) problems.push(`the local write ${where} is not in the client's log`);
    else if (event.syncStatus === 'ok' && stored !== 1)
      problems.push(`the local write ${where} is synced but the server holds it ${stored} time(s)`);
    else if (event.syncStatus === 'failed' && !world.traffic.rejections.has(eventId))
      problems.push(`the local write ${where} failed with no verdict reported`);
    else if (event.syncStatus === 'failed' && stored > 0)
      problems.push(`the local write ${where} is failed on the client but the server holds it`);
  }

  for (const repository of REPOSITORIES) {
    const onServer = view.events.get(repository) ?? [];
    // What this client holds that the server lost in a restore still decides its records.
    const lost = log.filter(
      (event) =>
        event.repository === repository &&
        event.syncStatus !== 'failed' &&
        !view.counts.has(event.eventId),
    );
    for (const event of lost)
      if (event.local || !world.server.lostToRestore.has(event.eventId))
        problems.push(
          `the client holds ${repository}/${event.dataId} (${short(event.eventId)}, ${event.local ? 'its own' : 'received'}) that the server does not`,
        );
    const expected = new Map<string, StoredRecord>();
    for (const event of [...onServer, ...lost] as SyncEvent[]) {
      const next = resolveRemoteEvent(expected.get(event.dataId), event);
      if (next) expected.set(event.dataId, next);
    }
    const actual = new Map((await world.records(repository)).map((record) => [record.id, record]));
    for (const id of new Set([...expected.keys(), ...actual.keys()])) {
      const want = expected.get(id);
      const got = actual.get(id);
      if (visible(want) !== visible(got))
        problems.push(
          `diverged: ${repository}/${id} is ${visible(got)} on the client but ${visible(want)} by last-writer-wins over the server's events`,
        );
    }
  }
  const open = world.syncNows.filter((call) => call.outcome === undefined).length;
  if (open > 0) problems.push(`${open} syncNow() call(s) never resolved`);
  if (problems.length > 0)
    throw new Error(violation(world, 'the final settle', problems.slice(0, 8)));
}

import type { StoredEvent } from '@local-first/core';
import { type ServerEvent, type StoredPosition, toWireEvent } from '@local-first/core/adapter';
import { RETRY_AFTER_S } from './commands.js';
import { PROXY_MAX_BODY_BYTES, SERVER_MAX_BODY_BYTES } from './server.js';
import { REPOSITORIES, type World } from './world.js';

export const MINUTE_MS = 60_000;

/** What the server holds now. */
export interface ServerView {
  events: Map<string, ServerEvent[]>;
  /** How many times each event id is stored, over every repository. */
  counts: Map<string, number>;
  epoch: string;
}

export async function serverView(world: World): Promise<ServerView> {
  await world.server.record();
  const events = new Map<string, ServerEvent[]>();
  const counts = new Map<string, number>();
  for (const repository of REPOSITORIES) {
    const list = await world.server.events(repository);
    events.set(repository, list);
    for (const event of list) counts.set(event.eventId, (counts.get(event.eventId) ?? 0) + 1);
  }
  return { events, counts, epoch: await world.server.epoch() };
}

export function short(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const frame = error.stack?.split('\n').find((line) => line.includes('/src/'));
  return `${error.name}: ${error.message}${frame ? ` (${frame.trim()})` : ''}`;
}

/** Bytes of a push that carries this event alone. */
export function soloBytes(event: StoredEvent): number {
  return Buffer.byteLength(JSON.stringify({ events: [toWireEvent(event)] }), 'utf8');
}

/** Bounds of the liveness and pacing rules, from the run's configuration. */
export function bounds(world: World) {
  const { syncInterval, pushDelay, requestTimeout, retryDelay, maxRetryDelay, latencyMs } =
    world.config;
  const longestPause = Math.max(syncInterval, maxRetryDelay, RETRY_AFTER_S * 1_000);
  // Rounds of a backoff that has not reached its cap yet: the doublings from retryDelay.
  const doublings = Math.ceil(Math.log2(Math.max(2, maxRetryDelay / Math.max(1, retryDelay))));
  return {
    /** Past a quiet stretch of this, a pending change has been in a push. */
    push: pushDelay + longestPause + requestTimeout + 10_000 + 200 * latencyMs,
    /** Past a quiet stretch of this, an event on the server is in the client's log. */
    pull: longestPause + requestTimeout + 10_000 + 200 * latencyMs,
    /**
     * Refused requests in one minute while the server is down. Past the doublings the pauses
     * are uniform in [0, maxRetryDelay): the mean is maxRetryDelay / 2, and twice the count
     * that mean allows is many standard deviations away.
     */
    refusedPerMinute: Math.ceil((2 * MINUTE_MS) / (maxRetryDelay / 2)) + doublings + 10,
    /** Each start, syncNow or new token may cost a round at once and restart the doublings. */
    perKick: doublings + 3,
    /** A syncNow() resolves within this of quiet. */
    syncNow: 2 * requestTimeout + longestPause + 30_000,
  };
}

/** The largest count of `times` within any window of `width` that ends at one of them. */
function densest(times: readonly number[], width: number): { count: number; at: number } {
  let best = { count: 0, at: 0 };
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= width) start++;
    if (end - start + 1 > best.count) best = { count: end - start + 1, at: times[end]! };
  }
  return best;
}

function within(times: readonly number[], from: number, to: number): number {
  return times.filter((at) => at > from && at <= to).length;
}

/** The wire: every request authenticated, none while stopped, none in a tight loop. */
export function requestProblems(world: World): string[] {
  const problems: string[] = [];
  const { exchanges, kicks } = world.traffic;
  const limits = bounds(world);
  // Every request carries the token the app handed last, as a bearer token.
  const unauthenticated = exchanges.filter(
    (entry) => entry.seen.headers.authorization !== `Bearer ${entry.token}`,
  );
  if (unauthenticated.length > 0) {
    const first = unauthenticated[0]!;
    problems.push(
      `${unauthenticated.length} request(s) without the newest bearer token; first: ${first.method} ${first.seen.path} at ${world.t(first.seen.at)} with authorization "${first.seen.headers.authorization}" where "Bearer ${first.token}" was due`,
    );
  }
  const whileStopped = exchanges.filter((entry) => entry.state === 'stopped');
  if (whileStopped.length > 0)
    problems.push(
      `${whileStopped.length} request(s) made while the strategy was stopped; first: ${whileStopped[0]!.method} ${whileStopped[0]!.seen.path} at ${world.t(whileStopped[0]!.seen.at)}`,
    );

  // A refused connection ends its round: while the server is down, one request a round.
  const refused = exchanges
    .filter((entry) => entry.seen.result === 'refused')
    .map((entry) => entry.seen.at);
  const busiest = densest(refused, MINUTE_MS);
  const allowed =
    limits.refusedPerMinute + limits.perKick * within(kicks, busiest.at - MINUTE_MS, busiest.at);
  if (busiest.count > allowed)
    problems.push(
      `tight loop while down: ${busiest.count} refused requests in the minute up to ${world.t(busiest.at)}, more than the ${allowed} the backoff allows (retryDelay ${world.config.retryDelay}, maxRetryDelay ${world.config.maxRetryDelay})`,
    );

  // An answer with Retry-After ends its round; the next waits that long, unless the app asked
  // for a round (start, syncNow, a new token) meanwhile or while that round ran.
  for (const [index, entry] of exchanges.entries()) {
    const { result, fault } = entry.seen;
    if (fault !== 'answer' || (result !== 429 && result !== 503 && result !== 500)) continue;
    const next = exchanges.slice(index + 1).find((later) => later.seen.at > entry.seen.at);
    if (!next) continue;
    // A kick in the same millisecond as the request may have come right after it.
    const asked =
      within(kicks, entry.seen.at - 1, next.seen.at) > 0 ||
      world.syncNows.some(
        (call) => call.at <= entry.seen.at && (call.resolvedAt ?? Infinity) >= entry.seen.at,
      );
    const gap = next.seen.at - entry.seen.at;
    if (!asked && gap < RETRY_AFTER_S * 1_000)
      problems.push(
        `Retry-After ignored: a ${result} at ${world.t(entry.seen.at)} said to wait ${RETRY_AFTER_S} s, and the next request (${next.method} ${next.seen.path}) came ${gap} ms later`,
      );
  }

  // Polls that brought nothing: one per repository a round, and rounds come every
  // syncInterval, after writes, kicks, faults and other disturbances.
  const writes = [...world.localWrites.values()].map((write) => write.at);
  const faulted = exchanges.filter((entry) => entry.seen.fault).map((entry) => entry.seen.at);
  const disturbed = world.traffic.disturbances.map((entry) => entry.at);
  for (const repository of REPOSITORIES) {
    const idle = exchanges
      .filter(
        (entry) =>
          entry.method === 'GET' &&
          entry.repository === repository &&
          entry.served?.events === 0 &&
          entry.served.hasMore === false,
      )
      .map((entry) => entry.seen.at);
    const worst = densest(idle, MINUTE_MS);
    const from = worst.at - MINUTE_MS;
    const cause =
      within(writes, from, worst.at) +
      within(faulted, from, worst.at) +
      within(refused, from, worst.at) +
      within(disturbed, from, worst.at);
    const rounds = Math.ceil(MINUTE_MS / world.config.syncInterval) + 5 + 3 * cause;
    if (worst.count > rounds)
      problems.push(
        `tight loop while up: ${worst.count} empty polls of ${repository} in the minute up to ${world.t(worst.at)}, more than ${rounds} (syncInterval ${world.config.syncInterval}, ${cause} writes, faults and disturbances in that minute)`,
      );
  }
  return problems;
}

/** The server and the client's storage: nothing stored twice, lost, skipped or wrongly refused. */
export async function storageProblems(
  world: World,
  view: ServerView,
  log: StoredEvent[],
): Promise<string[]> {
  const problems: string[] = [];
  const { server, traffic } = world;
  const twice = [...view.counts].filter(([, count]) => count > 1);
  if (twice.length > 0)
    problems.push(
      `${twice.length} event(s) stored more than once on the server: ${twice.slice(0, 3).map(([id, count]) => `${short(id)} x${count}`)}`,
    );

  // An ack the current server sent (heard by the client or not) names events it holds.
  for (const entry of traffic.exchanges) {
    const served = entry.served;
    if (!served?.ackIds || served.generation !== world.generation) continue;
    if (entry.generation !== world.generation) continue;
    const missing = served.ackIds.filter((id) => !view.counts.has(id));
    if (missing.length > 0)
      problems.push(
        `the server acknowledged ${missing.length} event(s) it does not hold: ${missing.slice(0, 3).map(short)}`,
      );
  }

  const byId = new Map(log.map((event) => [event.eventId, event]));
  // Stored by some server: a push the old one served while a restore copied its store counts.
  const acked = new Set(traffic.exchanges.flatMap((entry) => entry.served?.ackIds ?? []));
  // Server events at or below the client's cursor (in the current log), by repository.
  const cursors = new Map<string, StoredPosition>();
  const positions = new Map<string, Map<string, number>>();
  for (const repository of REPOSITORIES) {
    const position = await world.cursor(repository);
    cursors.set(repository, position);
    const covered = new Map<string, number>();
    if (position.epoch === view.epoch)
      for (const event of view.events.get(repository) ?? [])
        if (event.serverSequence <= position.sequence)
          covered.set(event.eventId, event.serverSequence);
    positions.set(repository, covered);
  }
  for (const event of log) {
    if (!event.local) continue;
    const where = `${event.repository}/${event.dataId} (${short(event.eventId)})`;
    if (!world.localWrites.has(event.eventId))
      problems.push(`the client's log holds a local event the app never wrote: ${where}`);
    if (
      event.syncStatus === 'ok' &&
      !server.everHeld.has(event.eventId) &&
      !acked.has(event.eventId)
    )
      problems.push(`${where} is marked synced but no server ever stored it`);
    if (event.syncStatus !== 'failed') continue;
    const verdict = traffic.rejections.get(event.eventId);
    if (!verdict) {
      problems.push(`${where} is marked failed but no verdict on it was reported on rejections`);
      continue;
    }
    if (!traffic.rejectedActivity.has(event.eventId))
      problems.push(`${where} got a verdict (${verdict.code}) not told on the activity stream`);
    // A verdict on a push whose earlier answer was lost may come while the server holds the
    // event; the pull that meets the event revives it. Once the cursor is past it, none will.
    const heldAt = positions.get(event.repository)?.get(event.eventId);
    if (heldAt !== undefined)
      problems.push(
        `${where} was reported refused (${verdict.code}) and rolled back, but the server holds it at #${heldAt}, at or below the client's cursor: no pull will revive it`,
      );
    const bytes = soloBytes(event);
    const limit = server.everProxyLimited ? PROXY_MAX_BODY_BYTES : SERVER_MAX_BODY_BYTES;
    if (verdict.code === 'event_too_large' && bytes <= limit)
      problems.push(
        `${where} was refused as too large, but alone it takes ${bytes} bytes, under every limit of the run (${limit})`,
      );
    if (verdict.code === 'forbidden' && !server.everForbidden.has(event.repository))
      problems.push(`${where} was refused as forbidden, but writes were never forbidden there`);
  }
  for (const eventId of world.localWrites.keys())
    if (!byId.has(eventId))
      problems.push(`the local write ${short(eventId)} left the client's log`);

  // A cursor in the current log covers only events the client holds.
  for (const repository of REPOSITORIES) {
    const position = cursors.get(repository)!;
    if (position.epoch !== view.epoch) continue;
    const skipped = (view.events.get(repository) ?? []).filter(
      (event) => event.serverSequence <= position.sequence && !byId.has(event.eventId),
    );
    if (skipped.length > 0)
      problems.push(
        `cursor skipped events: ${repository} is at ${position.sequence} but ${skipped.length} server event(s) at or below it are not in the client's log (first #${skipped[0]!.serverSequence})`,
      );
  }
  return problems;
}

/** Why the liveness clocks do not run now, if they do not. */
function blocked(world: World): string | undefined {
  if (!world.running) return 'stopped';
  if (!world.server.online) return 'server down';
  if (world.server.rest.armedCount > 0) return 'faults armed';
  if (world.state === 'failed') return 'failed';
  return undefined;
}

/** The start of the quiet stretch the liveness bounds count from. */
function quietSince(world: World): number {
  const { requestTimeout, latencyMs } = world.config;
  return Math.max(
    world.traffic.lastDisturbance,
    world.traffic.lastFaultEnd(requestTimeout, latencyMs),
  );
}

/** What must have happened by now: pushes, pulls, syncNow answers, the state. */
export function livenessProblems(world: World, view: ServerView, log: StoredEvent[]): string[] {
  const problems: string[] = [];
  const now = Date.now();
  const limits = bounds(world);
  const { traffic } = world;
  const unresolved = world.syncNows.find(
    (call) =>
      call.outcome === undefined && now - Math.max(call.at, quietSince(world)) > limits.syncNow,
  );
  if (unresolved && blocked(world) === undefined)
    problems.push(
      `a syncNow() called at ${world.t(unresolved.at)} has not resolved after ${now - unresolved.at} ms (strategy ${world.state}; last requests: ${traffic.story()})`,
    );
  if (world.state === 'failed') {
    // Each start, and each new token that resumes it, goes through `connecting` first.
    const unauthorized = traffic.exchanges.findLast((entry) => entry.seen.result === 401);
    const resumed = traffic.states.findLast((entry) => entry.state === 'connecting')?.at ?? 0;
    if (!unauthorized || unauthorized.seen.at < resumed)
      problems.push(
        `the strategy is failed with no 401 since it last started or resumed (${traffic.story()})`,
      );
  }
  if (blocked(world) !== undefined) return problems;
  const since = quietSince(world);

  const oldest = log.find((event) => event.local && event.syncStatus === 'pending');
  if (oldest) {
    const from = Math.max(since, world.localWrites.get(oldest.eventId)?.at ?? 0);
    const carried = traffic
      .between(from, now)
      .some((entry) => entry.eventIds.includes(oldest.eventId));
    if (now - from > limits.push && !carried)
      problems.push(
        `stalled push: ${oldest.repository}/${oldest.dataId} (${short(oldest.eventId)}) pending and in no push for ${now - from} ms of quiet since ${world.t(from)} (bound ${limits.push}; strategy ${world.state}; last requests: ${traffic.story()})`,
      );
  }

  const held = new Set(log.map((event) => event.eventId));
  for (const repository of REPOSITORIES) {
    const missing = (view.events.get(repository) ?? []).find(
      (event) =>
        !held.has(event.eventId) &&
        now - Math.max(since, Date.parse(event.serverCreatedAt)) > limits.pull,
    );
    if (missing)
      problems.push(
        `stalled pull: ${repository} #${missing.serverSequence} (${short(missing.eventId)}), on the server since ${world.t(Date.parse(missing.serverCreatedAt))}, is not on the client after ${now - Math.max(since, Date.parse(missing.serverCreatedAt))} ms of quiet (bound ${limits.pull}; strategy ${world.state}; last requests: ${traffic.story()})`,
      );
  }
  return problems;
}

/** Every rule, after a step; throws with all that were broken. */
export async function checkInvariants(world: World, after: string): Promise<void> {
  const view = await serverView(world);
  const log = await world.clientEvents();
  const problems = [
    ...world.traffic.uncaught
      .slice(0, 3)
      .map(({ at, error }) => `uncaught error at ${world.t(at)}: ${describeError(error)}`),
    ...requestProblems(world),
    ...(await storageProblems(world, view, log)),
    ...livenessProblems(world, view, log),
  ];
  if (problems.length > 0) throw new Error(violation(world, after, problems));
}

export function violation(world: World, after: string, problems: string[]): string {
  return `after ${after} (at ${world.t()}, strategy ${world.state}, server ${world.server.online ? 'up' : 'down'}):\n  - ${problems.join('\n  - ')}`;
}

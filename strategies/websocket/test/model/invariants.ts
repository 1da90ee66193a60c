import type { StoredEvent } from '@local-first/core';
import {
  DEFAULT_MAX_CLOCK_DRIFT_MS,
  eventStampProblem,
  type ServerEvent,
} from '@local-first/core/adapter';
import {
  HEARTBEAT_MS,
  MAX_FRAME_BYTES,
  REPOSITORIES,
  tooLargeForAFrame,
  type World,
} from './world.js';

/** Bounds of the liveness rules, in fake milliseconds. */
export const BOUNDS = {
  /** The oldest pending event that fits a frame is pushed within this, backoff included. */
  push: 30_000,
  /** A request_events is answered by sync_complete, or asked again, within this. */
  catchUp: 30_000,
  /** After auth_success, a request_events for every repository goes out within this. */
  catchUpStart: 10_000,
  /** Beyond heartbeat + pong timeout (+ a round trip), to give up a dead link. */
  deadLinkMargin: 1_000,
  /** A rejected write is no longer the local record this long after its ack arrived (and the disk is idle). */
  rejection: 5_000,
};

/** What the server holds now, and which of it a 1.1 server would have refused. */
export interface ServerView {
  events: Map<string, ServerEvent[]>;
  ids: Set<string>;
  /** Stored events whose stamp is malformed or too far ahead of the server's clock. */
  refusable: Set<string>;
}

export async function serverView(world: World): Promise<ServerView> {
  const events = new Map<string, ServerEvent[]>();
  const ids = new Set<string>();
  const refusable = new Set<string>();
  for (const repository of REPOSITORIES) {
    const list = await world.server.events(repository);
    events.set(repository, list);
    for (const event of list) {
      ids.add(event.eventId);
      const reference = Date.parse(event.serverCreatedAt);
      if (eventStampProblem(event, reference, DEFAULT_MAX_CLOCK_DRIFT_MS) !== undefined)
        refusable.add(event.eventId);
    }
  }
  return { events, ids, refusable };
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const frame = error.stack?.split('\n').find((line) => line.includes('/src/'));
    return `${error.name}${code ? ` [${String(code)}]` : ''}: ${error.message}${frame ? ` (${frame.trim()})` : ''}`;
  }
  return String(error);
}

function short(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

/** What the wire and the server show: errors nobody caught, acks lost, frames over the limit. */
export function wireSafetyProblems(world: World, view: ServerView): string[] {
  const problems: string[] = [];
  for (const { at, error } of world.log.uncaught.slice(0, 3))
    problems.push(`uncaught error at ${world.t(at)}: ${describeError(error)}`);

  const acked = world.server.acks.flatMap(({ ack }) => ack.eventIds);
  const lost = acked.filter((id) => !view.ids.has(id) && !world.server.lostToRestore.has(id));
  if (lost.length > 0)
    problems.push(
      `${lost.length} acknowledged event(s) are not in the server store: ${lost.slice(0, 3).map(short)}`,
    );

  const oversized = world.log.sent.filter((sent) => sent.bytes > MAX_FRAME_BYTES);
  if (oversized.length > 0) {
    const first = oversized[0]!;
    problems.push(
      `the client sent ${oversized.length} frame(s) over the ${MAX_FRAME_BYTES}-byte limit announced in auth_success.limits; first: a ${first.bytes}-byte ${first.type}${first.eventIds ? ` of ${first.eventIds.length} event(s)` : ''} on link #${first.link} at ${world.t(first.at)}, which the server closed with 1009`,
    );
  }
  return problems;
}

/** What the client's storage shows: nothing applied twice, no skipped cursor, no stamp or verdict ignored. */
export async function storageSafetyProblems(
  world: World,
  view: ServerView,
  cursors: ReadonlyMap<string, number>,
  log: StoredEvent[],
): Promise<string[]> {
  const problems: string[] = [];
  const now = Date.now();
  const seen = new Map<string, number>();
  for (const event of log) seen.set(event.eventId, (seen.get(event.eventId) ?? 0) + 1);
  const twice = [...seen].filter(([, count]) => count > 1);
  if (twice.length > 0)
    problems.push(`${twice.length} event(s) are in the log more than once: ${twice[0]![0]}`);

  for (const repository of REPOSITORIES) {
    const cursor = cursors.get(repository) ?? 0;
    const skipped = (view.events.get(repository) ?? []).filter(
      (event) =>
        event.serverSequence <= cursor &&
        !seen.has(event.eventId) &&
        !view.refusable.has(event.eventId),
    );
    if (skipped.length > 0)
      problems.push(
        `cursor skipped events: namespace ${world.namespace}, ${repository} has cursor ${cursor} but ${skipped.length} server event(s) at or below it are not in its log (first #${skipped[0]!.serverSequence}; the server holds ${view.events.get(repository)?.length ?? 0}, the log ${log.filter((event) => event.repository === repository).length})`,
      );
  }

  for (const repository of REPOSITORIES) {
    for (const record of await world.records(repository)) {
      const where = `${repository}/${record.id}`;
      const bad = world.badStamps.get(record.eventId);
      if (bad !== undefined || view.refusable.has(record.eventId))
        problems.push(
          `${where} is decided by a foreign event with a bad stamp (hlc "${record.hlc.slice(0, 24)}", ${bad ?? 'refusable'}) that the server should have refused and the client should not apply`,
        );
      const rejectedAt = world.rejected.get(record.eventId);
      // Only while the server does not hold the event: a later push of it may have been
      // accepted (its verdict was still on the way to the disk when the connection restarted).
      // A verdict that reached the disk after the app switched namespaces is dropped there (it
      // must not land in the other user's data); the event is judged again when it is re-sent.
      if (
        rejectedAt !== undefined &&
        now - rejectedAt > BOUNDS.rejection &&
        !view.ids.has(record.eventId) &&
        !world.log.switchedBetween(rejectedAt - BOUNDS.rejection, now)
      )
        problems.push(
          `${where} is still the rejected write ${short(record.eventId)} ${now - rejectedAt} ms after its ack.rejected arrived; it should be back to the last state the server accepted`,
        );
    }
  }

  const clock = await world.clock();
  if (clock && clock.wall > now + DEFAULT_MAX_CLOCK_DRIFT_MS + 1_000)
    problems.push(
      `the client's clock (client:hlc) is ${Math.round((clock.wall - now) / 86_400_000)} days ahead of the wall clock: it was dragged forward by a stamp it should have refused`,
    );

  const failed = log.filter(
    (event) =>
      event.syncStatus === 'failed' &&
      !world.rejected.has(event.eventId) &&
      !tooLargeForAFrame(event),
  );
  if (failed.length > 0)
    problems.push(
      `${failed.length} event(s) marked failed although the server never rejected them: ${failed.slice(0, 3).map((event) => `${event.repository}/${event.dataId}`)}`,
    );
  return problems;
}

/** The oldest pending event that fits a frame is pushed within a bound. */
export function pushProblems(world: World, log: StoredEvent[]): string[] {
  const wire = world.log;
  const oldest = log.find((event) => event.syncStatus === 'pending' && !tooLargeForAFrame(event));
  if (!world.running || !oldest) return [];
  // The clock restarts with every fault and lifecycle call: the bound is for one quiet stretch.
  const since = Math.max(Date.parse(oldest.createdAt), wire.lastDisturbance, world.diskSlowUntil);
  const pushes = wire.sent.filter((sent) => sent.type === 'push_events_batch' && sent.at >= since);
  const carried = pushes.some(
    (sent) => sent.bytes <= MAX_FRAME_BYTES && sent.eventIds?.includes(oldest.eventId),
  );
  if (Date.now() - since <= BOUNDS.push || carried) return [];
  const over = pushes.filter((sent) => sent.bytes > MAX_FRAME_BYTES).length;
  const errors = wire.arrived
    .filter((arrival) => arrival.type === 'error' && arrival.at >= since)
    .map((arrival) => `${arrival.code} on ${arrival.requestType}`);
  const opened = world.network.links.filter((link) => link.openedAt >= since).length;
  return [
    `stalled push: ${oldest.repository}/${oldest.dataId} (${short(oldest.eventId)}) has been pending ${Date.now() - since} ms since ${world.t(since)} and no push_events_batch that fits a frame carried it (pushes since: ${pushes.length}, ${over} over the limit; errors since: ${errors.slice(0, 4).join(', ') || 'none'}; state ${world.strategy.connectionState}, ${opened} link(s) opened since)`,
  ];
}

/** Catch-ups finish or are retried, dead links are given up, live links kept. */
export function livenessProblems(world: World): string[] {
  const problems: string[] = [];
  const now = Date.now();
  const wire = world.log;
  const links = world.network.links;

  if (world.running) {
    for (const repository of REPOSITORIES) {
      const last = wire.sent.findLast(
        (sent) => sent.type === 'request_events' && sent.repository === repository,
      );
      const since = Math.max(last?.at ?? 0, wire.lastDisturbance, world.diskSlowUntil);
      if (!last || now - since <= BOUNDS.catchUp) continue;
      const done = wire.arrived.some(
        (arrival) =>
          arrival.link === last.link &&
          arrival.type === 'sync_complete' &&
          arrival.repository === repository &&
          arrival.at >= last.at,
      );
      if (!done)
        problems.push(
          `stalled catch-up: request_events for ${repository} sent at ${world.t(last.at)} on link #${last.link} got no sync_complete and was not asked again for ${now - last.at} ms; on that link since: ${wire.story(last.link, last.at)}`,
        );
    }
  }

  for (const arrival of wire.arrived) {
    if (arrival.type !== 'auth_success') continue;
    const deadline = arrival.at + BOUNDS.catchUpStart;
    const link = links[arrival.link - 1]!;
    const ended = [link.client.closedByThisEnd?.at, link.client.closedAt, link.cutAt].some(
      (at) => at !== undefined && at <= deadline,
    );
    // A slow disk delays the cursor reads a catch-up starts from: that is the disk's doing.
    const waitedForDisk = world.diskSlowUntil > arrival.at;
    if (now <= deadline || ended || waitedForDisk || wire.lifecycleBetween(arrival.at, deadline))
      continue;
    for (const repository of REPOSITORIES) {
      const asked = wire.sent.some(
        (sent) =>
          sent.link === link.id &&
          sent.type === 'request_events' &&
          sent.repository === repository &&
          sent.at >= arrival.at,
      );
      if (!asked)
        problems.push(
          `no catch-up: connected on link #${link.id} at ${world.t(arrival.at)} (auth_success) but no request_events for ${repository} went out on it in ${BOUNDS.catchUpStart} ms (state ${world.strategy.connectionState}); on that link: ${wire.story(link.id, arrival.at)}`,
        );
    }
  }

  const patience =
    HEARTBEAT_MS + world.config.pongTimeoutMs + BOUNDS.deadLinkMargin + 2 * world.config.latencyMs;
  for (const cut of wire.cuts) {
    const deadline = cut.at + patience;
    if (!cut.whileConnected || now <= deadline) continue;
    const left = wire.states.some(
      (record) => record.at > cut.at && record.at <= deadline && record.state !== 'connected',
    );
    const reopened = links.some((link) => link.openedAt > cut.at && link.openedAt <= deadline);
    if (left || reopened || wire.lifecycleBetween(cut.at, deadline)) continue;
    const link = links[cut.link - 1]!;
    const closed = link.client.closedByThisEnd;
    const pings = wire.sent.filter(
      (sent) =>
        sent.link === cut.link && sent.type === 'ping' && sent.at > cut.at && sent.at <= deadline,
    ).length;
    const arrivals = wire.arrived.filter(
      (arrival) => arrival.link === cut.link && arrival.at > cut.at && arrival.at <= deadline,
    ).length;
    problems.push(
      `dead link kept: link #${cut.link} went silent (${cut.directions.join('+')}) at ${world.t(cut.at)} while connected, and ${patience} ms later (heartbeat ${HEARTBEAT_MS} + pongTimeout ${world.config.pongTimeoutMs} + margin) the strategy is still on it: ${
        closed && closed.at <= deadline
          ? `it called close(${closed.info.code}, "${closed.info.reason}") at +${closed.at - cut.at} ms and waits for a close handshake that cannot complete`
          : `it had not noticed (${pings} ping(s) sent after the cut, ${arrivals} message(s) still arriving${closed ? `; it closed the link only at +${closed.at - cut.at} ms` : ''})`
      }`,
    );
  }

  for (const link of links) {
    const closed = link.client.closedByThisEnd;
    if (!closed || link.cutAt !== undefined || closed.info.code === 1009) continue;
    if (wire.lifecycles.includes(closed.at)) continue;
    const before = wire.arrived.filter(
      (arrival) => arrival.link === link.id && arrival.at < closed.at,
    );
    if (!before.some((arrival) => arrival.type === 'auth_success')) continue;
    if (before.some((arrival) => arrival.type === 'error' && arrival.at > closed.at - 2_000))
      continue;
    const lastArrival = before.at(-1)!;
    if (lastArrival.at > closed.at - world.config.pongTimeoutMs)
      problems.push(
        `live link dropped: the client closed link #${link.id} (${closed.info.code} "${closed.info.reason}") at ${world.t(closed.at)} although a ${lastArrival.type} had arrived on it ${closed.at - lastArrival.at} ms before, within the pong timeout: liveness must count messages when they arrive, not when they are handled`,
      );
  }
  return problems;
}

/** Every rule, after a step; throws with all that were broken. */
export async function checkInvariants(world: World, after: string): Promise<void> {
  const view = await serverView(world);
  const problems = [...wireSafetyProblems(world, view), ...livenessProblems(world)];
  // The client's storage is read only when no transaction holds its queue, so that reading
  // takes no fake time and sees one consistent state; a busy slow disk defers these rules.
  if (world.diskIdle) {
    // Cursors before the log: a cursor commits with its events, so the log read after it
    // holds at least what the cursor covers.
    const cursors = new Map<string, number>();
    for (const repository of REPOSITORIES) cursors.set(repository, await world.cursor(repository));
    const log = await world.clientEvents();
    problems.push(
      ...(await storageSafetyProblems(world, view, cursors, log)),
      ...pushProblems(world, log),
    );
  }
  if (problems.length > 0) throw new Error(violation(world, after, problems));
}

export function violation(world: World, after: string, problems: string[]): string {
  return `after ${after} (at ${world.t()}, namespace ${world.namespace}, strategy ${world.strategy.connectionState}):\n  - ${problems.join('\n  - ')}`;
}

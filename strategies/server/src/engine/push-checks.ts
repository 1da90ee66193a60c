import type { EventStore, SyncEvent } from '@local-first/core';
import {
  type AppendOutcome,
  eventStampProblem,
  type RejectedEvent,
  validateEvent,
} from '@local-first/core/adapter';
import type { RepositoryAccess } from './access.js';

/**
 * The checks' answer for one candidate of a push: its event (none when the shape is wrong) and,
 * when a new event would be refused, why.
 */
export interface Verdict {
  event?: SyncEvent;
  refusal?: RejectedEvent;
}

/**
 * The checks of one candidate of a push to `repository` (the client's name): shape, stamp
 * (at most `maxClockDriftMs` ahead of `now`), write access. What it would get if the log did
 * not hold it yet.
 */
export function judge(
  candidate: unknown,
  access: RepositoryAccess,
  repository: string,
  now: number,
  maxClockDriftMs: number,
): Verdict {
  const checked = validateEvent(candidate);
  if (!checked.ok) {
    const eventId = checked.eventId ?? '';
    return { refusal: { eventId, code: 'invalid_event', message: checked.message } };
  }
  const { event } = checked;
  const stampProblem = eventStampProblem(event, now, maxClockDriftMs);
  if (stampProblem !== undefined) {
    return {
      event,
      refusal: { eventId: event.eventId, code: 'invalid_event', message: stampProblem },
    };
  }
  if (!access.write) {
    const message = access.reason ?? `no write access to "${repository}"`;
    return { event, refusal: { eventId: event.eventId, code: 'forbidden', message } };
  }
  return { event };
}

/**
 * The refused events that the stored repository's log holds all the same (a push whose ack
 * was lost, re-sent after the permission or the drift bound changed), by eventId. Asked only
 * when something was refused, so an allowed push costs no extra read. A malformed event is not
 * looked up: the server stores only well-formed ones. A store without `findEvents` holds
 * nothing here.
 */
export async function heldAmong(
  store: EventStore,
  stored: string,
  verdicts: readonly Verdict[],
): Promise<Map<string, AppendOutcome>> {
  const refused = verdicts.flatMap(({ event, refusal }) =>
    event && refusal ? [event.eventId] : [],
  );
  if (refused.length === 0 || !store.findEvents) return new Map();
  const found = await store.findEvents(stored, refused);
  return new Map(found.map((outcome) => [outcome.eventId, outcome]));
}

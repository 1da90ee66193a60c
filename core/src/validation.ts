import { stampProblem, wallProblem } from './hlc.js';
import type { RecordData, SyncEvent } from './model.js';

/** The outcome of {@link validateEvent}: the event, typed, or why it was refused. */
export type EventValidation =
  | {
      /** The value is a valid event. */
      ok: true;
      /** The value, as an event. */
      event: SyncEvent;
    }
  | {
      /** The value is not a valid event. */
      ok: false;
      /** Its `eventId`, when it had a usable one. */
      eventId: string | undefined;
      /** What is wrong with it. */
      message: string;
    };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an event received from elsewhere (the wire, a file). It needs a non-empty `eventId`
 * and `dataId`, an `operation` of 0, 1 or 2, and an object `data` for 0 and 1. Optional fields,
 * when present, must have their types. The event is returned as it came, never rewritten.
 */
export function validateEvent(value: unknown): EventValidation {
  if (!isPlainObject(value))
    return { ok: false, eventId: undefined, message: 'event must be an object' };
  const eventId =
    typeof value.eventId === 'string' && value.eventId !== '' ? value.eventId : undefined;
  const fail = (message: string): EventValidation => ({ ok: false, eventId, message });
  if (eventId === undefined) return fail('eventId must be a non-empty string');
  if (typeof value.dataId !== 'string' || value.dataId === '') {
    return fail('dataId must be a non-empty string');
  }
  const operation = value.operation;
  if (operation !== 0 && operation !== 1 && operation !== 2)
    return fail('operation must be 0, 1 or 2');
  if (operation !== 2 && !isPlainObject(value.data)) {
    return fail('data must be an object for insert and update');
  }
  if (
    operation === 2 &&
    value.data !== undefined &&
    value.data !== null &&
    !isPlainObject(value.data)
  ) {
    return fail('data of a delete must be absent, null or an object');
  }
  for (const field of ['createdAt', 'hlc', 'serverCreatedAt'] as const) {
    if (value[field] !== undefined && typeof value[field] !== 'string') {
      return fail(`${field} must be a string`);
    }
  }
  if (
    value.serverSequence !== undefined &&
    (!Number.isSafeInteger(value.serverSequence) || (value.serverSequence as number) < 0)
  ) {
    return fail('serverSequence must be a non-negative integer');
  }
  return { ok: true, event: value as unknown as SyncEvent };
}

/** The record carried by an event, `null` for deletes. */
export function eventRecord(event: SyncEvent): RecordData | null {
  return event.operation === 2 ? null : (event.data as RecordData);
}

/**
 * Why an event's clock stamp is not acceptable, or `undefined` (protocol revision 1.1): an
 * `hlc`, when present, must be well formed; the stamp (`hlc`, else `createdAt`) must not be
 * more than `maxDriftMs` ahead of `referenceMs`. A server passes its clock; a client that
 * receives passes the event's `serverCreatedAt`, so every replica judges an event alike.
 */
export function eventStampProblem(
  event: Pick<SyncEvent, 'hlc' | 'createdAt'>,
  referenceMs: number,
  maxDriftMs: number,
): string | undefined {
  if (event.hlc !== undefined) return stampProblem(event.hlc, referenceMs, maxDriftMs);
  const wall = Date.parse(event.createdAt);
  return Number.isFinite(wall) ? wallProblem(wall, referenceMs, maxDriftMs) : undefined;
}

/**
 * The events of a remote batch that a replica may apply: well formed, and stamped no more than
 * `maxDriftMs` ahead of their `serverCreatedAt`. Stamps are judged against the server's commit
 * time, not this device's clock, so every replica gives the same answer for the same event
 * whenever it receives it. The others are reported into `invalid`.
 */
export function validateRemoteEvents(
  candidates: readonly unknown[],
  maxDriftMs: number,
  invalid: { eventId: string | undefined; message: string }[],
): SyncEvent[] {
  const valid: SyncEvent[] = [];
  // The events of one commit share its time: parsed once per run of equal times.
  let lastTime: string | undefined;
  let lastMs = Number.NaN;
  for (const candidate of candidates) {
    const checked = validateEvent(candidate);
    if (!checked.ok) {
      invalid.push({ eventId: checked.eventId, message: checked.message });
      continue;
    }
    const time = checked.event.serverCreatedAt;
    if (time !== lastTime) {
      lastTime = time;
      lastMs = time === undefined ? Number.NaN : Date.parse(time);
    }
    const committed = lastMs;
    const problem = Number.isFinite(committed)
      ? eventStampProblem(checked.event, committed, maxDriftMs)
      : undefined;
    if (problem) invalid.push({ eventId: checked.event.eventId, message: problem });
    else valid.push(checked.event);
  }
  return valid;
}

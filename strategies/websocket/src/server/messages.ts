import type { ClientMessage, ProtocolErrorCode } from '@local-first/core';

export type ParsedMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: ProtocolErrorCode; message: string; requestType?: string };

/** Longest repository name accepted; names are keys in every store and log line. */
export const MAX_REPOSITORY_NAME_LENGTH = 256;

const KNOWN_TYPES = new Set([
  'auth',
  'ping',
  'pong',
  'push_event',
  'push_events_batch',
  'request_events',
  'request_all_events',
  'events_received',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRepository(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_REPOSITORY_NAME_LENGTH;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((item) => typeof item === 'string');
}

/**
 * Checks the shape of a client message: `invalid_message` for a wrong or missing field,
 * `unknown_type` for a type the protocol does not define. Events inside pushes are checked
 * later, one by one, so one bad event does not sink its batch.
 */
export function parseClientMessage(value: unknown): ParsedMessage {
  if (!isObject(value) || typeof value.type !== 'string') {
    return {
      ok: false,
      code: 'invalid_message',
      message: 'a message is a JSON object with a string "type"',
    };
  }
  const type = value.type;
  if (!KNOWN_TYPES.has(type)) {
    return {
      ok: false,
      code: 'unknown_type',
      message: `unknown message type "${type.slice(0, 64)}"`,
      requestType: type.slice(0, 64),
    };
  }
  const invalid = (message: string): ParsedMessage => ({
    ok: false,
    code: 'invalid_message',
    message,
    requestType: type,
  });
  const repositoryProblem = `"repository" must be a non-empty string of at most ${MAX_REPOSITORY_NAME_LENGTH} characters`;
  switch (type) {
    case 'auth':
      if (value.token !== undefined && typeof value.token !== 'string')
        return invalid('"token" must be a string');
      if (value.headers !== undefined && !isStringRecord(value.headers)) {
        return invalid('"headers" must be an object of strings');
      }
      if (value.protocol !== undefined && !isCount(value.protocol))
        return invalid('"protocol" must be an integer');
      if (value.clientId !== undefined && typeof value.clientId !== 'string')
        return invalid('"clientId" must be a string');
      break;
    case 'push_event':
      if (!isRepository(value.repository)) return invalid(repositoryProblem);
      if (!('event' in value)) return invalid('"event" is required');
      break;
    case 'push_events_batch':
      if (!isRepository(value.repository)) return invalid(repositoryProblem);
      if (!Array.isArray(value.events)) return invalid('"events" must be an array');
      break;
    case 'request_events':
      if (!isRepository(value.repository)) return invalid(repositoryProblem);
      if (value.afterSequence !== undefined && !isCount(value.afterSequence)) {
        return invalid('"afterSequence" must be a non-negative integer');
      }
      if (
        value.since !== undefined &&
        (typeof value.since !== 'string' || Number.isNaN(Date.parse(value.since)))
      ) {
        return invalid('"since" must be an ISO-8601 timestamp');
      }
      if (value.limit !== undefined && (!isCount(value.limit) || value.limit === 0)) {
        return invalid('"limit" must be a positive integer');
      }
      break;
    case 'request_all_events':
      if (value.repository !== undefined && !isRepository(value.repository))
        return invalid(repositoryProblem);
      break;
    case 'events_received':
      if (!isRepository(value.repository)) return invalid(repositoryProblem);
      if (!isCount(value.count)) return invalid('"count" must be a non-negative integer');
      if (value.lastSequence !== undefined && !isCount(value.lastSequence)) {
        return invalid('"lastSequence" must be a non-negative integer');
      }
      break;
  }
  return { ok: true, message: value as unknown as ClientMessage };
}

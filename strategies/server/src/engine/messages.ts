import {
  type ClientMessage,
  type ErrorMessage,
  MAX_REQUEST_ID_LENGTH,
  type ProtocolErrorCode,
} from '@local-first/core/adapter';

/** What an `error` answer names of the request it answers, when the request said so. */
export interface RequestContext {
  /** The request's `type`, when it was a string. */
  requestType?: string;
  /** The request's `requestId`, when it was well formed. */
  requestId?: string;
  /** The repository the request named, when it was a well-formed name. */
  repository?: string;
}

/** The outcome of {@link parseClientMessage}: a typed message, or the `error` to answer. */
export type ParsedMessage =
  | {
      /** The value is a message the engine serves. */
      ok: true;
      /** The value, as a message. */
      message: ClientMessage;
    }
  | ({
      /** The value is not a message the engine serves. */
      ok: false;
      /** The code of the `error` to answer with. */
      code: ProtocolErrorCode;
      /** What is wrong with it. */
      message: string;
    } & RequestContext);

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

/** The requests that may carry a `requestId` (revision 1.1); other messages have no answer to tag. */
const REQUEST_TYPES = new Set([
  'auth',
  'push_event',
  'push_events_batch',
  'request_events',
  'request_all_events',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRepository(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_REPOSITORY_NAME_LENGTH;
}

function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_REQUEST_ID_LENGTH;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((item) => typeof item === 'string');
}

/**
 * What an answer to a raw message may name of it, as far as the message can be read: its type,
 * its `requestId` and its repository, each only when it is well formed. Used for answers to
 * messages that were never parsed (rate limited) or whose handling failed.
 */
export function requestContextOf(raw: unknown): RequestContext {
  if (!isObject(raw)) return {};
  const context: RequestContext = {};
  if (typeof raw.type === 'string' && raw.type.length <= 64) context.requestType = raw.type;
  if (isRequestId(raw.requestId)) context.requestId = raw.requestId;
  if (isRepository(raw.repository)) context.repository = raw.repository;
  return context;
}

/** An `error` answer that names what it can of the request it answers. */
export function errorMessage(
  code: ProtocolErrorCode,
  message: string,
  context: RequestContext & { retryAfterMs?: number | undefined } = {},
): ErrorMessage {
  const error: ErrorMessage = { type: 'error', code, message };
  if (context.requestType !== undefined) error.requestType = context.requestType;
  if (context.requestId !== undefined) error.requestId = context.requestId;
  if (context.repository !== undefined) error.repository = context.repository;
  if (context.retryAfterMs !== undefined) error.retryAfterMs = context.retryAfterMs;
  return error;
}

/**
 * Checks the shape of a client message: `invalid_message` for a wrong or missing field,
 * `unknown_type` for a type the protocol does not define. Events inside pushes are checked
 * later, one by one, so one bad event does not sink its batch. A failure names the request's
 * well-formed `requestId` and repository, so the client can tell which request it answers.
 */
export function parseClientMessage(value: unknown): ParsedMessage {
  if (!isObject(value) || typeof value.type !== 'string') {
    const { requestId } = requestContextOf(value);
    return {
      ok: false,
      code: 'invalid_message',
      message: 'a message is a JSON object with a string "type"',
      ...(requestId !== undefined ? { requestId } : {}),
    };
  }
  const type = value.type;
  const { requestId, repository } = requestContextOf(value);
  const context = {
    ...(requestId !== undefined ? { requestId } : {}),
    ...(repository !== undefined ? { repository } : {}),
  };
  if (!KNOWN_TYPES.has(type)) {
    return {
      ok: false,
      code: 'unknown_type',
      message: `unknown message type "${type.slice(0, 64)}"`,
      requestType: type.slice(0, 64),
      ...context,
    };
  }
  if (REQUEST_TYPES.has(type) && value.requestId !== undefined && requestId === undefined) {
    return {
      ok: false,
      code: 'invalid_message',
      message: `"requestId" must be a string of at most ${MAX_REQUEST_ID_LENGTH} characters`,
      requestType: type,
      ...(repository !== undefined ? { repository } : {}),
    };
  }
  const invalid = (message: string): ParsedMessage => ({
    ok: false,
    code: 'invalid_message',
    message,
    requestType: type,
    ...context,
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

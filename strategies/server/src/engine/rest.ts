import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthenticatedUser } from './auth.js';
import { bearerToken, refusalOf } from './auth.js';
import type { SyncEngine } from './engine.js';
import { MAX_REPOSITORY_NAME_LENGTH } from './messages.js';

/** Handles a request if it is one of the REST routes; resolves `false` for anything else. */
export type RestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

const EVENTS_ROUTE = /^\/api\/events\/([^/]+)(\/batch)?$/;

/**
 * A REST answer other than success, thrown inside the handler and always caught there: it
 * becomes the response's status and `{type: "error", code, message}` body and never reaches a
 * caller, so it carries wire codes (`PROTOCOL_ERROR_CODES`, `not_found`, the `auth_failed`
 * codes) rather than a `LocalFirstError` code.
 */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function reply(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * Past this size (or four times the limit, when larger), an oversized body is no longer read
 * to its end: the connection is cut. Below it the body is read and dropped, so the client gets its 413 (a
 * socket closed while the client still sends reaches it as a reset, not as an answer, and a
 * client that cannot tell "too large" from "network down" retries the same batch forever).
 */
const DRAIN_BYTES = 64 * 1024 * 1024;

async function readJson(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > Math.max(DRAIN_BYTES, 4 * maxBytes)) break;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw new HttpError(413, 'too_large', `the body exceeds ${maxBytes} bytes`);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_message', 'the body is not valid JSON');
  }
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string') headers[name] = value;
    else if (Array.isArray(value)) headers[name] = value.join(', ');
  }
  return headers;
}

/**
 * The REST routes of the protocol: health (is the process up), readiness (can it serve: store
 * and fan-out reachable), paged reads and pushes. They go through the same
 * authenticator and access rules as sockets, and pushes are broadcast to socket clients.
 */
export function createRestHandler(engine: SyncEngine): RestHandler {
  async function authenticate(request: IncomingMessage): Promise<AuthenticatedUser> {
    const headers = headersOf(request);
    try {
      return await engine.authenticator.authenticate({ token: bearerToken(headers), headers });
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal) throw new HttpError(401, refusal.reason, refusal.message);
      throw error;
    }
  }

  async function route(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    started: number,
  ): Promise<void> {
    if (url.pathname === '/api/health') {
      if (request.method !== 'GET') throw new HttpError(405, 'invalid_message', 'use GET');
      return reply(response, 200, {
        status: 'ok',
        store: engine.store.kind,
        connections: engine.connectionCount,
        uptimeSeconds: Math.round((engine.now() - engine.startedAt) / 1000),
      });
    }
    if (url.pathname === '/api/ready') {
      if (request.method !== 'GET') throw new HttpError(405, 'invalid_message', 'use GET');
      // For load balancers and orchestrators: send traffic here only when this answers 200.
      const problems = await engine.readiness();
      return reply(response, problems.length === 0 ? 200 : 503, {
        status: problems.length === 0 ? 'ready' : 'not_ready',
        store: engine.store.kind,
        fanout: engine.fanout ? 'on' : 'off',
        ...(problems.length > 0 ? { problems } : {}),
      });
    }
    const match = EVENTS_ROUTE.exec(url.pathname);
    if (!match) throw new HttpError(404, 'not_found', 'no such route');
    let repository: string;
    try {
      repository = decodeURIComponent(match[1]!);
    } catch {
      throw new HttpError(400, 'invalid_message', 'the repository name is not valid URL encoding');
    }
    if (repository.length > MAX_REPOSITORY_NAME_LENGTH)
      throw new HttpError(400, 'invalid_message', 'repository name too long');
    const user = await authenticate(request);
    const batch = match[2] !== undefined;
    const access = await engine.access(user, repository);
    if (request.method === 'GET' && !batch) {
      if (!access.read)
        throw new HttpError(403, 'forbidden', access.reason ?? `no read access to "${repository}"`);
      const after = Number(url.searchParams.get('afterSequence') ?? '0');
      const limitParam = url.searchParams.get('limit');
      const limit = limitParam === null ? engine.limits.maxPageEvents : Number(limitParam);
      if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1) {
        throw new HttpError(400, 'invalid_message', 'afterSequence must be >= 0 and limit >= 1');
      }
      // Read before the page, so it names the log the page comes from.
      const epoch = await engine.epochOf(access.stored);
      const page = await engine.store.readAfter(
        access.stored,
        after,
        Math.min(limit, engine.limits.maxPageEvents),
      );
      engine.observe.catchUpPage(repository, page.events.length);
      return reply(response, 200, {
        repository,
        events: page.events,
        hasMore: page.hasMore,
        lastSequence: page.lastSequence,
        ...(epoch !== undefined ? { epoch } : {}),
      });
    }
    if (request.method !== 'POST') throw new HttpError(405, 'invalid_message', 'use GET or POST');
    const body = await readJson(request, engine.limits.maxFrameBytes);
    let events: unknown[];
    if (batch) {
      const list = (body as { events?: unknown } | null)?.events;
      if (!Array.isArray(list))
        throw new HttpError(400, 'invalid_message', 'the body must be {"events": [...]}');
      events = list;
    } else {
      events = [body];
    }
    if (events.length > engine.limits.maxBatchEvents) {
      throw new HttpError(
        413,
        'too_large',
        `at most ${engine.limits.maxBatchEvents} events per batch`,
      );
    }
    const { ack } = await engine.push(user, repository, events, undefined, access);
    // Without write access every event is refused; the push is refused whole, unless the log
    // holds some of them already (a retry of a push whose answer was lost): those are done,
    // and the client must hear so rather than take them for refused.
    if (!access.write && ack.eventIds.length === 0)
      throw new HttpError(403, 'forbidden', access.reason ?? `no write access to "${repository}"`);
    reply(response, 201, ack);
    engine.observe.acknowledged('rest', (performance.now() - started) / 1000);
  }

  return async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/')) return false;
    try {
      await route(request, response, url, performance.now());
    } catch (error) {
      if (error instanceof HttpError) {
        engine.observe.errorSent('error', error.code);
        reply(response, error.status, { type: 'error', code: error.code, message: error.message });
      } else {
        engine.observe.errorSent('error', 'internal');
        engine.logger.error({ error, path: url.pathname }, 'REST request failed');
        const retryAfterMs = engine.limits.internalRetryAfterMs;
        reply(
          response,
          500,
          {
            type: 'error',
            code: 'internal',
            message: 'the server could not handle this request',
            retryAfterMs,
          },
          { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
        );
      }
    }
    return true;
  };
}

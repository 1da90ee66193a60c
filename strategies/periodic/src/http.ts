import type { FetchFunction } from './options.js';

/** How one request ended. */
export type Outcome =
  /** A 2xx answer with a JSON body. */
  | { kind: 'ok'; status: number; body: unknown }
  /** The server answered, but not with a 2xx: its status and what its error body said. */
  | { kind: 'refused'; status: number; code: string; message: string; retryAfterMs?: number }
  /**
   * No answer to go by: the network failed, the request timed out (the server may still have
   * done it), or the answer was not JSON. Safe to send again: pushes are idempotent.
   */
  | { kind: 'unreachable'; message: string }
  /** The strategy stopped while the request was out. */
  | { kind: 'aborted' };

export interface RequestOptions {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Aborted when the strategy stops. */
  signal: AbortSignal;
}

/**
 * The REST calls of the strategy, each bounded in time as a whole: the answer's body is read
 * under the same deadline as its headers, so a server that sends headers and then stalls does
 * not hold a round forever.
 */
export class RestClient {
  constructor(
    private readonly options: { fetch: FetchFunction; baseUrl: string; requestTimeout: number },
  ) {}

  async request(path: string, request: RequestOptions): Promise<Outcome> {
    if (request.signal.aborted) return { kind: 'aborted' };
    const controller = new AbortController();
    let timedOut = false;
    const stop = () => controller.abort();
    request.signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.requestTimeout);
    try {
      const response = await this.options.fetch(this.options.baseUrl + path, {
        method: request.method,
        headers: {
          accept: 'application/json',
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...request.headers,
        },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: controller.signal,
      });
      const text = await response.text();
      return answer(response, text);
    } catch (error) {
      if (request.signal.aborted) return { kind: 'aborted' };
      if (timedOut)
        return {
          kind: 'unreachable',
          message: `no answer within ${this.options.requestTimeout} ms`,
        };
      return { kind: 'unreachable', message: describe(error) };
    } finally {
      clearTimeout(timer);
      request.signal.removeEventListener('abort', stop);
    }
  }
}

function answer(response: Response, text: string): Outcome {
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) {
    if (body === undefined || typeof body !== 'object' || body === null)
      return { kind: 'unreachable', message: `HTTP ${response.status} without a JSON body` };
    return { kind: 'ok', status: response.status, body };
  }
  const error = (typeof body === 'object' && body !== null ? body : {}) as {
    code?: unknown;
    message?: unknown;
    retryAfterMs?: unknown;
  };
  const retryAfterMs = Math.max(
    retryAfterHeader(response.headers.get('retry-after')) ?? 0,
    typeof error.retryAfterMs === 'number' && error.retryAfterMs > 0 ? error.retryAfterMs : 0,
  );
  return {
    kind: 'refused',
    status: response.status,
    code: typeof error.code === 'string' ? error.code : `http_${response.status}`,
    message:
      typeof error.message === 'string' ? error.message : `HTTP ${response.status} from the server`,
    ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
  };
}

/** `Retry-After` in ms: seconds, or an HTTP date. `undefined` when absent or unreadable. */
export function retryAfterHeader(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

// The HTTP side of `PollingStrategy`: one JSON request at a time, bounded in time, and the
// server's refusals as errors that keep its status and code.

/** The `fetch` the strategy calls: the platform's, or any function of the same shape. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** A non-2xx answer of the server, as its error body described it. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`HTTP ${status} ${code}: ${message}`);
  }
}

/** A status and a JSON object body (`{}` when the answer had none). */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface JsonRequest {
  headers: Record<string, string>;
  /** A JSON text: the request is a POST. Without it, a GET. */
  body?: string;
  /** Aborts the request (the strategy stopped). */
  signal: AbortSignal;
  /** The whole request, the answer's body included, may take this long. */
  timeoutMs: number;
}

/** Sends one request; rejects when no answer came in time or the answer is not JSON. */
export async function requestJson(
  fetch: FetchFunction,
  url: string,
  request: JsonRequest,
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: request.body === undefined ? 'GET' : 'POST',
    headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: AbortSignal.any([request.signal, AbortSignal.timeout(request.timeoutMs)]),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new Refusal(response.status, 'not_json', 'the answer is not JSON');
  }
  const body = typeof parsed === 'object' && parsed !== null ? parsed : {};
  return { status: response.status, body: body as Record<string, unknown> };
}

/** The refusal an answer stands for, with the server's `code` and `message` when it gave them. */
export function refusalOf({ status, body }: Answer): Refusal {
  const code = typeof body.code === 'string' ? body.code : `http_${status}`;
  return new Refusal(status, code, typeof body.message === 'string' ? body.message : 'refused');
}

/** `/api/events/{repository}` plus `rest`, the name URL-encoded. */
export function eventsPath(repository: string, rest = ''): string {
  return `/api/events/${encodeURIComponent(repository)}${rest}`;
}

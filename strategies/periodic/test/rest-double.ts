import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRestHandler, type RestHandler, type SyncEngine } from '@local-first/server';
import type { FetchFunction } from '../src/index.js';

/** What a request of the double met. */
export type Fault =
  /** The connection is refused: nothing reaches the server. */
  | { kind: 'refuse' }
  /** The request reaches the server, which does it; its answer is lost on the way back. */
  | { kind: 'lose_answer' }
  /** Nothing comes back, ever; only the client's own deadline (or stop) ends the request. */
  | { kind: 'hang' }
  /** Headers come back, then the body stalls: only a deadline that covers the body ends it. */
  | { kind: 'stall_body' }
  /** A proxy or the server answers this instead (the server never sees the request). */
  | { kind: 'answer'; status: number; body?: unknown; headers?: Record<string, string> }
  /** The server does the request; its answer comes back `ms` later than usual. */
  | { kind: 'slow'; ms: number };

/** Which requests a fault hits, and how many times. */
export interface ArmedFault {
  method?: 'GET' | 'POST';
  fault: Fault;
  remaining: number;
}

/** One request as the double saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The status the client got, or what went wrong instead. */
  result: number | 'refused' | 'lost' | 'hung' | 'stalled' | 'aborted';
  /** When the request was made (ms since the epoch, fake or real). */
  at: number;
  /** The fault it met, if any. */
  fault?: Fault['kind'];
}

/** A request as `intercept` sees it, before anything happens to it. */
export interface InterceptedRequest {
  method: string;
  path: string;
  body: string | undefined;
}

/** What the server's handler wrote, before it travels back (and may be lost on the way). */
export interface ServedAnswer {
  status: number;
  body: string;
}

function networkError(message: string): TypeError {
  return new TypeError('fetch failed', { cause: new Error(message) });
}

function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A `fetch` that runs the real REST handler of an engine in-process, over requests that
 * behave like real ones where it matters: a server that is down refuses connections, an
 * answer may be lost after the server did the work, or come back late, a request may hang or
 * its body stall until the client's deadline, a proxy may answer 500/429/413 with
 * `Retry-After`. Time passes only through timers (`latencyMs`), so it works under fake timers.
 * Hooks let a test see each request and what the server answered, and pick faults itself.
 */
export class RestDouble {
  /** False: every request is refused, as by a server that is down. */
  online = true;
  /** Each request takes this long to arrive, and its answer as long to come back. */
  latencyMs = 0;
  readonly requests: SeenRequest[] = [];
  /** Picks a fault for a request before the armed ones are asked (a proxy's body limit, say). */
  intercept: ((request: InterceptedRequest) => Fault | undefined) | undefined;
  /** Told of each request as it is made, with its body. */
  onRequest: ((seen: SeenRequest, body: string | undefined) => void) | undefined;
  /** Told of each answer the server's handler wrote, before it travels back. */
  onServed: ((seen: SeenRequest, answer: ServedAnswer) => void) | undefined;
  private armed: ArmedFault[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  private handler: RestHandler;

  constructor(engine: SyncEngine) {
    this.handler = createRestHandler(engine);
  }

  /** From now on another server answers at the same address (one restored from a backup). */
  serveFrom(engine: SyncEngine): void {
    this.handler = createRestHandler(engine);
  }

  /** The next `count` requests (of `method`, if given) meet `fault`. */
  arm(fault: Fault, count = 1, method?: 'GET' | 'POST'): void {
    this.armed.push({ fault, remaining: count, ...(method ? { method } : {}) });
  }

  clear(): void {
    this.armed = [];
  }

  /** Faults armed and not yet met. */
  get armedCount(): number {
    return this.armed.reduce((sum, entry) => sum + entry.remaining, 0);
  }

  /** Resolves once `count` requests in all have been made. */
  requested(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Requests of a method whose path starts with `prefix`. */
  count(method: string, prefix = '/api/events/'): number {
    return this.requests.filter((seen) => seen.method === method && seen.path.startsWith(prefix))
      .length;
  }

  readonly fetch: FetchFunction = async (input, init) => {
    const url = new URL(input);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = Object.fromEntries(
      Object.entries((init.headers ?? {}) as Record<string, string>).map(([name, value]) => [
        name.toLowerCase(),
        value,
      ]),
    );
    const path = url.pathname + url.search;
    const seen: SeenRequest = { method, path, headers, result: 'hung', at: Date.now() };
    const text = typeof init.body === 'string' ? init.body : undefined;
    this.requests.push(seen);
    this.onRequest?.(seen, text);
    for (const waiter of this.waiters.filter((entry) => this.requests.length >= entry.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const signal = init.signal ?? undefined;
    const fault = this.intercept?.({ method, path, body: text }) ?? this.take(method);
    if (fault) seen.fault = fault.kind;
    await this.travel(signal, seen);
    if (!this.online || fault?.kind === 'refuse') {
      seen.result = 'refused';
      throw networkError('connect ECONNREFUSED');
    }
    if (fault?.kind === 'hang') return this.never(signal, seen);
    if (fault?.kind === 'answer') {
      seen.result = fault.status;
      return new Response(fault.body === undefined ? '' : JSON.stringify(fault.body), {
        status: fault.status,
        headers: { 'content-type': 'application/json', ...fault.headers },
      });
    }
    const answer = await this.serve(method, url, headers, init.body);
    this.onServed?.(seen, answer);
    await this.travel(signal, seen, this.latencyMs + (fault?.kind === 'slow' ? fault.ms : 0));
    if (fault?.kind === 'lose_answer') {
      seen.result = 'lost';
      throw networkError('other side closed');
    }
    seen.result = answer.status;
    if (fault?.kind === 'stall_body') return this.stalled(answer, signal, seen);
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };

  private take(method: string): Fault | undefined {
    const armed = this.armed.find((entry) => entry.method === undefined || entry.method === method);
    if (!armed) return undefined;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.armed.splice(this.armed.indexOf(armed), 1);
    return armed.fault;
  }

  /** One way of the trip: `latencyMs` (or `ms`), cut short by an abort. */
  private travel(
    signal: AbortSignal | undefined,
    seen: SeenRequest,
    ms = this.latencyMs,
  ): Promise<void> {
    if (signal?.aborted) {
      seen.result = 'aborted';
      return Promise.reject(abortError());
    }
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        seen.result = 'aborted';
        reject(abortError());
      };
      // Once arrived, a later abort (of a stalled body, say) is no longer this trip's.
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private never(signal: AbortSignal | undefined, seen: SeenRequest): Promise<Response> {
    return new Promise((_, reject) => {
      if (signal?.aborted) {
        seen.result = 'aborted';
        reject(abortError());
      }
      signal?.addEventListener('abort', () => {
        seen.result = 'aborted';
        reject(abortError());
      });
    });
  }

  /** Headers arrive; the body never does, until the request is aborted. */
  private stalled(
    answer: { status: number; headers: Record<string, string> },
    signal: AbortSignal | undefined,
    seen: SeenRequest,
  ): Response {
    seen.result = 'stalled';
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (signal?.aborted) controller.error(abortError());
        signal?.addEventListener('abort', () => controller.error(abortError()));
      },
    });
    return new Response(body, { status: answer.status, headers: answer.headers });
  }

  /** Runs the real handler over a request and a response that record what it wrote. */
  private async serve(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: RequestInit['body'],
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.alloc(0);
    const request = {
      method,
      url: url.pathname + url.search,
      headers,
      async *[Symbol.asyncIterator]() {
        // In chunks, as a socket delivers a large body.
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024)
          yield bytes.subarray(offset, offset + 64 * 1024);
      },
    } as unknown as IncomingMessage;
    let status = 0;
    let written: Record<string, string> = {};
    let text = '';
    const response = {
      writeHead(code: number, fields: Record<string, string | number>) {
        status = code;
        written = Object.fromEntries(
          Object.entries(fields).map(([name, value]) => [name, String(value)]),
        );
        return response;
      },
      end(chunk?: string) {
        text = chunk ?? '';
      },
    } as unknown as ServerResponse;
    const handled = await this.handler(request, response);
    if (!handled) return { status: 404, headers: {}, body: '' };
    return { status, headers: written, body: text };
  }
}

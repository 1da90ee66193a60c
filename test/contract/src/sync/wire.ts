import type { Transport } from '@local-first/core';
import type { TransportConnection } from '@local-first/core/adapter';
import type { SyncFetch } from './setup.js';

// What a device put on its wire and got back, counted so that scenarios can assert on it and
// failed waits can say what went over it. One counter per wire: a transport for WebSocket
// strategies, a `fetch` for REST ones.

/** A message a client sent over a counted transport: its type and the repository it names. */
export interface SentMessage {
  /** The message's `type`. */
  type: string;
  /** The repository it names, when it names one. */
  repository?: string;
}

/** Counts what a client's transport opened, sent and received. */
export class CountingTransport implements Transport {
  /** Tells this counter from a {@link CountingFetch}. */
  readonly kind = 'websocket';
  /** How many connections were opened. */
  opened = 0;
  /** The type of every message sent, in order. */
  readonly sentTypes: string[] = [];
  /** Every message sent, in order: its type and, when it names one, its repository. */
  readonly sentMessages: SentMessage[] = [];
  /** Catch-up pages received (`events` messages with `hasMore`). */
  pagesReceived = 0;

  constructor(private readonly inner: Transport) {}

  get name(): string {
    return this.inner.name;
  }

  async open(
    url: string,
    options?: Parameters<Transport['open']>[1],
  ): Promise<TransportConnection> {
    const connection = await this.inner.open(url, options);
    this.opened += 1;
    connection.onMessage((message) => {
      const { type, hasMore } = message as { type?: string; hasMore?: boolean };
      if (type === 'events' && hasMore !== undefined) this.pagesReceived += 1;
    });
    const send = connection.send.bind(connection);
    connection.send = (message: object) => {
      const { type, repository } = message as { type: string; repository?: unknown };
      this.sentTypes.push(type);
      this.sentMessages.push(typeof repository === 'string' ? { type, repository } : { type });
      send(message);
    };
    return connection;
  }

  /** The repositories named by messages of this type (e.g. `push_events_batch`), in order. */
  repositoriesSent(type: string): string[] {
    return this.sentMessages
      .filter((message) => message.type === type && message.repository !== undefined)
      .map((message) => message.repository!);
  }

  /** What the transport saw, for a failed wait's report. */
  report(): string {
    const sent = this.sentTypes.slice(-8).join(', ') || 'nothing';
    return `${this.opened} connection(s) opened, last sent: ${sent}`;
  }
}

/** One request a client made through a counted `fetch`. */
export interface RequestRecord {
  /** The HTTP method. */
  method: string;
  /** The URL's path, without origin or query, e.g. `/api/events/todos/batch`. */
  path: string;
  /** The URL's query with its `?`, or `''`. */
  query: string;
  /** The `Authorization` header the request carried. */
  authorization: string | undefined;
  /** Status of the answer; `undefined` while it is out, or when none came (see `error`). */
  status: number | undefined;
  /** Why no answer came: a network failure, a timeout, an abort. */
  error?: string;
}

const EVENTS_PATH = /\/api\/events\/([^/?]+)(\/batch)?$/;

/** Counts the requests a client made through its `fetch`, with their answers' statuses. */
export class CountingFetch {
  /** Tells this counter from a {@link CountingTransport}. */
  readonly kind = 'rest';
  /** Every request, in the order it was made. */
  readonly requests: RequestRecord[] = [];

  constructor(private readonly inner: SyncFetch) {}

  /** The `fetch` to give the strategy: records each request, then makes it with the inner one. */
  readonly fetch: SyncFetch = async (input, init) => {
    const url = new URL(input);
    const record: RequestRecord = {
      method: (init.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: url.search,
      authorization: new Headers(init.headers).get('authorization') ?? undefined,
      status: undefined,
    };
    this.requests.push(record);
    // Called as a plain function: a platform `fetch` may refuse another `this`.
    const inner = this.inner;
    try {
      const response = await inner(input, init);
      record.status = response.status;
      return response;
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
      throw error;
    }
  };

  /** Catch-up pages received: reads of a repository's events (GET) answered 200. */
  get pagesReceived(): number {
    return this.requests.filter(
      (request) =>
        request.method === 'GET' && request.status === 200 && EVENTS_PATH.test(request.path),
    ).length;
  }

  /** The repository a request read or pushed to, `undefined` for other routes. */
  static repositoryOf(request: RequestRecord): string | undefined {
    const match = EVENTS_PATH.exec(request.path);
    return match ? decodeURIComponent(match[1]!) : undefined;
  }

  /** The repositories of the requests of one method (`POST`: pushes, `GET`: reads), in order. */
  repositoriesRequested(method: 'GET' | 'POST'): string[] {
    return this.requests
      .filter((request) => request.method === method)
      .map((request) => CountingFetch.repositoryOf(request))
      .filter((repository) => repository !== undefined);
  }

  /** What the `fetch` saw, for a failed wait's report. */
  report(): string {
    const last =
      this.requests
        .slice(-6)
        .map((request) => `${request.method} ${request.path}${request.query} → ${answer(request)}`)
        .join(', ') || 'nothing';
    return `${this.requests.length} request(s), last: ${last}`;
  }
}

function answer(request: RequestRecord): string {
  if (request.status !== undefined) return String(request.status);
  return request.error === undefined ? 'pending' : `failed (${request.error})`;
}

/** The counter of a device's wire: `kind` says which one. */
export type WireCounter = CountingTransport | CountingFetch;

import type { ConnectionState } from '@local-first/core';
import type { RestDouble, SeenRequest, ServedAnswer } from '../rest-double.js';

/** One request of the model client, as the double saw it and the server answered it. */
export interface Exchange {
  readonly seen: SeenRequest;
  readonly method: string;
  readonly repository: string;
  /** The events a push carried. */
  readonly eventIds: readonly string[];
  /** The strategy's state when the request was made. */
  readonly state: ConnectionState;
  /** The token the app had handed last when the request was made. */
  readonly token: string;
  /** Restores of the server before the request was made. */
  readonly generation: number;
  /** What the server's handler answered, when it ran (the client may not have heard it). */
  served?: {
    status: number;
    generation: number;
    /** The events an ack named as stored. */
    ackIds?: string[];
    /** The events a page carried, and whether it said more follow. */
    events?: number;
    hasMore?: boolean;
  };
}

function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Event ids of a list of ids or of events. */
function ids(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((entry) =>
    typeof entry === 'string' ? entry : String((entry as Record<string, unknown>)?.eventId),
  );
}

/**
 * The record of a run: every request of the model client, what the server did with it, the
 * strategy's states, the commands that disturbed the world and the verdicts reported.
 */
export class Traffic {
  readonly exchanges: Exchange[] = [];
  readonly states: { at: number; state: ConnectionState }[] = [];
  /** Commands that changed the world (faults, lifecycle, restores), by time. */
  readonly disturbances: { at: number; what: string }[] = [];
  /** Commands that may start a round at once: start, syncNow, new credentials. */
  readonly kicks: number[] = [];
  /** Verdicts on local events reported on `client.rejections`, by event id. */
  readonly rejections = new Map<string, { code: string; at: number }>();
  /** Verdicts reported on the strategy's `rejected` activity. */
  readonly rejectedActivity = new Set<string>();
  readonly uncaught: { at: number; error: unknown }[] = [];
  private readonly t0 = Date.now();

  constructor(
    rest: RestDouble,
    private readonly context: () => {
      state: ConnectionState;
      generation: number;
      token: string;
    },
  ) {
    rest.onRequest = (seen, body) => {
      const repository = decodeURIComponent(seen.path.split('/')[3]?.split('?')[0] ?? '');
      const { state, generation, token } = this.context();
      this.exchanges.push({
        seen,
        method: seen.method,
        repository,
        eventIds: seen.method === 'POST' ? ids(parse(body)?.events) : [],
        state,
        generation,
        token,
      });
    };
    rest.onServed = (seen, answer) => this.served(seen, answer);
  }

  private served(seen: SeenRequest, answer: ServedAnswer): void {
    const exchange = this.exchanges.findLast((entry) => entry.seen === seen);
    if (!exchange) return;
    const body = parse(answer.body);
    const { generation } = this.context();
    exchange.served = { status: answer.status, generation };
    if (exchange.method === 'POST' && answer.status === 201)
      exchange.served.ackIds = ids(body?.eventIds);
    if (exchange.method === 'GET' && answer.status === 200) {
      exchange.served.events = Array.isArray(body?.events) ? body.events.length : 0;
      exchange.served.hasMore = body?.hasMore === true;
    }
  }

  disturbed(what: string): void {
    this.disturbances.push({ at: Date.now(), what });
  }

  kicked(what: string): void {
    this.kicks.push(Date.now());
    this.disturbed(what);
  }

  get lastDisturbance(): number {
    return this.disturbances.at(-1)?.at ?? 0;
  }

  /** The last moment a request that met a fault may still hold its round up. */
  lastFaultEnd(requestTimeout: number, latencyMs: number): number {
    const last = this.exchanges.findLast((entry) => entry.seen.fault !== undefined);
    return last ? last.seen.at + requestTimeout + 2 * latencyMs : 0;
  }

  /** Requests made in (from, to]. */
  between(from: number, to: number): Exchange[] {
    return this.exchanges.filter((entry) => entry.seen.at > from && entry.seen.at <= to);
  }

  /** The last requests, for failure messages. */
  story(count = 12): string {
    const shown = this.exchanges.slice(-count).map(({ seen, eventIds, repository }) => {
      const what =
        seen.method === 'POST'
          ? `POST ${repository} ${eventIds.length} ev`
          : `GET ${seen.path.replace('/api/events/', '')}`;
      return `${seen.at - this.t0}ms ${what} → ${seen.result}${seen.fault ? ` (${seen.fault})` : ''}`;
    });
    return `${shown.join('; ') || 'no request'} (${this.exchanges.length} in all)`;
  }
}

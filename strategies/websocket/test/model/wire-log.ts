import type { ConnectionState } from '@local-first/core';
import type { Direction, Link, LinkObserver } from './link.js';

/** A message the client sent, as it left (delivered or not). */
export interface Sent {
  at: number;
  link: number;
  type: string;
  bytes: number;
  repository?: string;
  eventIds?: string[];
}

/** A message that reached the client's listeners. */
export interface Arrival {
  at: number;
  link: number;
  type: string;
  repository?: string;
  code?: string;
  requestType?: string;
  rejected?: string[];
}

export interface Cut {
  at: number;
  link: number;
  directions: Direction[];
  /** The strategy was connected on this link when it went silent. */
  whileConnected: boolean;
}

/**
 * What the test saw, with fake-clock times: every message the client sent and received, its
 * connection states, the faults it was put through, and errors nobody caught. Liveness is
 * judged afterwards from these records, so the checks are exact whenever they run.
 */
export class WireLog implements LinkObserver {
  readonly sent: Sent[] = [];
  readonly arrived: Arrival[] = [];
  readonly states: { at: number; state: ConnectionState }[] = [];
  readonly cuts: Cut[] = [];
  readonly uncaught: { at: number; error: unknown }[] = [];
  /** Times of faults and client lifecycle calls: they restart the liveness clocks. */
  readonly disturbances: { at: number; what: string }[] = [];
  /** When the client was stopped, started or switched namespace. */
  readonly lifecycles: number[] = [];

  clientSent(link: Link, message: object, bytes: number): void {
    const record = message as {
      type?: string;
      repository?: string;
      events?: { eventId?: string }[];
    };
    this.sent.push({
      at: Date.now(),
      link: link.id,
      type: String(record.type),
      bytes,
      ...(typeof record.repository === 'string' ? { repository: record.repository } : {}),
      ...(Array.isArray(record.events)
        ? { eventIds: record.events.map((event) => String(event.eventId)) }
        : {}),
    });
  }

  clientReceived(link: Link, message: unknown): void {
    const record = (message ?? {}) as {
      type?: string;
      repository?: string;
      code?: string;
      requestType?: string;
      rejected?: { eventId: string }[];
    };
    this.arrived.push({
      at: Date.now(),
      link: link.id,
      type: String(record.type),
      ...(typeof record.repository === 'string' ? { repository: record.repository } : {}),
      ...(typeof record.code === 'string' ? { code: record.code } : {}),
      ...(typeof record.requestType === 'string' ? { requestType: record.requestType } : {}),
      ...(Array.isArray(record.rejected)
        ? { rejected: record.rejected.map((entry) => entry.eventId) }
        : {}),
    });
  }

  disturbed(what: string): void {
    this.disturbances.push({ at: Date.now(), what });
  }

  lifecycle(what: string): void {
    this.lifecycles.push(Date.now());
    this.disturbed(what);
  }

  /** A stop, start or namespace switch happened in (from, to]. */
  lifecycleBetween(from: number, to: number): boolean {
    return this.lifecycles.some((at) => at > from && at <= to);
  }

  /** A namespace switch was asked for in [from, to]. */
  switchedBetween(from: number, to: number): boolean {
    return this.disturbances.some(
      ({ at, what }) => at >= from && at <= to && what.startsWith('useNamespace'),
    );
  }

  get lastDisturbance(): number {
    return this.disturbances.at(-1)?.at ?? 0;
  }

  /** The connection state at a moment. */
  stateAt(at: number): ConnectionState {
    let state: ConnectionState = 'stopped';
    for (const record of this.states) {
      if (record.at > at) break;
      state = record.state;
    }
    return state;
  }

  /** A compact account of what happened on a link after `from`, for failure messages. */
  story(link: number, from: number): string {
    const entries = [
      ...this.sent
        .filter((record) => record.link === link && record.at >= from)
        .map((record) => ({
          at: record.at,
          text: `→${record.type}${record.bytes > 10_000 ? `(${record.bytes}B)` : ''}`,
        })),
      ...this.arrived
        .filter((record) => record.link === link && record.at >= from)
        .map((record) => ({
          at: record.at,
          text: `←${record.type}${record.code ? `:${record.code}` : ''}`,
        })),
    ].sort((a, b) => a.at - b.at);
    const shown = entries
      .slice(0, 16)
      .map((entry) => `+${entry.at - from}ms ${entry.text}`)
      .join(', ');
    return entries.length > 16 ? `${shown} … (${entries.length} in all)` : shown || 'nothing';
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerEvent } from '@local-first/core/adapter';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CommitObservation, EngineObserver } from './engine/observer.js';

/** Buckets for the latency of an ack and of a commit, in seconds: 0.5 ms to 10 s. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];
/** Buckets for how long another node's commit took to reach this node, in seconds. */
const FANOUT_LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];

/** Options of {@link ServerMetrics}; all are optional. */
export interface ServerMetricsOptions {
  /** Where the metrics live. Default: a registry of their own (never prom-client's global one). */
  registry?: Registry;
  /** Adds the process's own metrics (CPU, memory, event loop lag, handles). Default: true. */
  processMetrics?: boolean;
  /** Labels put on every series, e.g. `{ node: 'a' }`. */
  labels?: Record<string, string>;
  /** The wall clock that fan-out lag is measured against, in ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * The server's metrics in Prometheus form: an `EngineObserver` for `SyncEngine`'s `observer`
 * option, and `handle()` for `GET /metrics`. Names start with `local_first_`.
 */
export class ServerMetrics implements EngineObserver {
  /** The prom-client registry the metrics are registered in. */
  readonly registry: Registry;
  private readonly now: () => number;
  private readonly connections: Gauge<'transport'>;
  private readonly connectionsOpened: Counter<'transport'>;
  private readonly connectionsCut: Counter<'reason'>;
  private readonly appended: Counter;
  private readonly duplicates: Counter;
  private readonly rejected: Counter<'code'>;
  private readonly commitSeconds: Histogram;
  private readonly ackSeconds: Histogram<'via'>;
  private readonly broadcastEvents: Counter;
  private readonly broadcastMessages: Counter;
  private readonly relayedEvents: Counter;
  private readonly fanoutLag: Histogram;
  private readonly catchUpPages: Counter;
  private readonly catchUpEvents: Counter;
  private readonly errors: Counter<'type' | 'code'>;
  private readonly laggingNotices: Counter;

  constructor(options: ServerMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    this.now = options.now ?? Date.now;
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'local_first_' });
    }
    const registers = [this.registry];
    this.connections = new Gauge({
      name: 'local_first_connections',
      help: 'Open connections, by transport.',
      labelNames: ['transport'],
      registers,
    });
    this.connectionsOpened = new Counter({
      name: 'local_first_connections_opened_total',
      help: 'Connections accepted, by transport.',
      labelNames: ['transport'],
      registers,
    });
    this.connectionsCut = new Counter({
      name: 'local_first_connections_cut_total',
      help: 'Connections the server closed, by the name of the close code (tooFarBehind: lagging).',
      labelNames: ['reason'],
      registers,
    });
    this.appended = new Counter({
      name: 'local_first_events_appended_total',
      help: 'Events newly stored by pushes to this node.',
      registers,
    });
    this.duplicates = new Counter({
      name: 'local_first_events_duplicate_total',
      help: 'Pushed events the log already held (acknowledged as duplicates).',
      registers,
    });
    this.rejected = new Counter({
      name: 'local_first_events_rejected_total',
      help: 'Pushed events refused with a final verdict, by code.',
      labelNames: ['code'],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'local_first_commit_seconds',
      help: 'Time the store took to commit a push that held new events.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ackSeconds = new Histogram({
      name: 'local_first_ack_latency_seconds',
      help: 'From a push arriving to its ack going out, queue wait included, by socket or rest.',
      labelNames: ['via'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.broadcastEvents = new Counter({
      name: 'local_first_events_broadcast_total',
      help: 'Live events sent to readers (one per event per reader).',
      registers,
    });
    this.broadcastMessages = new Counter({
      name: 'local_first_broadcast_messages_total',
      help: 'Live events messages sent to readers.',
      registers,
    });
    this.relayedEvents = new Counter({
      name: 'local_first_fanout_events_total',
      help: 'Events committed by other nodes and read by this one for its readers.',
      registers,
    });
    this.fanoutLag = new Histogram({
      name: 'local_first_fanout_lag_seconds',
      help: "From another node's commit to this node reading it for its readers (across clocks).",
      buckets: FANOUT_LAG_BUCKETS,
      registers,
    });
    this.catchUpPages = new Counter({
      name: 'local_first_catch_up_pages_total',
      help: 'Catch-up pages sent (socket and REST reads).',
      registers,
    });
    this.catchUpEvents = new Counter({
      name: 'local_first_catch_up_events_total',
      help: 'Events sent in catch-up pages.',
      registers,
    });
    this.errors = new Counter({
      name: 'local_first_errors_total',
      help: 'error and auth_failed answers sent, by type and code.',
      labelNames: ['type', 'code'],
      registers,
    });
    this.laggingNotices = new Counter({
      name: 'local_first_lagging_total',
      help: 'lagging notices sent: a reader stopped getting live events and catches up instead.',
      registers,
    });
  }

  connectionOpened(transport: string): void {
    this.connections.inc({ transport });
    this.connectionsOpened.inc({ transport });
  }

  connectionClosed(transport: string): void {
    this.connections.dec({ transport });
  }

  connectionCut(reason: string): void {
    this.connectionsCut.inc({ reason });
  }

  committed(_repository: string, observation: CommitObservation): void {
    if (observation.appended > 0) {
      this.appended.inc(observation.appended);
      this.commitSeconds.observe(observation.seconds);
    }
    if (observation.duplicates > 0) this.duplicates.inc(observation.duplicates);
    for (const code of observation.rejectedCodes) this.rejected.inc({ code });
  }

  acknowledged(via: 'socket' | 'rest', seconds: number): void {
    this.ackSeconds.observe({ via }, seconds);
  }

  broadcast(_repository: string, events: number, readers: number): void {
    if (readers === 0) return;
    this.broadcastMessages.inc(readers);
    this.broadcastEvents.inc(events * readers);
  }

  relayed(_repository: string, events: readonly ServerEvent[]): void {
    this.relayedEvents.inc(events.length);
    const now = this.now();
    for (const event of events) {
      const committed = Date.parse(event.serverCreatedAt);
      if (Number.isFinite(committed)) this.fanoutLag.observe(Math.max(0, now - committed) / 1000);
    }
  }

  catchUpPage(_repository: string, events: number): void {
    this.catchUpPages.inc();
    this.catchUpEvents.inc(events);
  }

  errorSent(type: 'error' | 'auth_failed', code: string): void {
    this.errors.inc({ type, code });
  }

  lagging(): void {
    this.laggingNotices.inc();
  }

  /** Answers `GET /metrics` in the Prometheus text format; returns false for other paths. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'application/json', allow: 'GET' });
      response.end(JSON.stringify({ type: 'error', code: 'invalid_message', message: 'use GET' }));
      return true;
    }
    const body = await this.registry.metrics();
    response.writeHead(200, { 'content-type': this.registry.contentType });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  }
}

import { MemoryEventStore, MemoryFanoutHub } from '@local-first/store-memory';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type EngineObserver, SyncEngine, staticTokens } from '../src/engine/index.js';
import { ServerMetrics } from '../src/metrics.js';
import { authenticated, event, TOKENS_FIXTURE } from './engine-fixtures.js';
import { RawClient, startTestServer } from './helpers.js';

/** The value of one series of a Prometheus text page, e.g. `x_total{code="a"}`; 0 when absent. */
function sample(page: string, series: string): number {
  const line = page.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The series of a page whose names start with `local_first_` and are ours (not the process's). */
function ourSeries(page: string): string {
  return page
    .split('\n')
    .filter((line) =>
      /^local_first_(events|connections|errors|ack|commit|catch|broadcast)/.test(line),
    )
    .join('\n');
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('GET /metrics', () => {
  it('counts connections, commits, acks, broadcasts, catch-up pages and errors by code', async () => {
    const harness = await startTestServer();
    stops.push(() => harness.stop());
    const { url } = harness.server;
    const alice = await RawClient.connect(harness.wsUrl, 'token-alice');
    stops.push(async () => alice.close());
    const bob = await new SocketIoTransport({ io }).open(url);
    stops.push(async () => bob.close(1000, 'done'));
    const bobMessages: { type: string }[] = [];
    const bobSees = new Promise<void>((resolve) =>
      bob.onMessage((message) => {
        bobMessages.push(message as { type: string });
        if ((message as { type: string }).type === 'events') resolve();
      }),
    );
    bob.send({ type: 'auth', token: 'token-bob' });
    bob.send({ type: 'request_events', repository: 'todos', afterSequence: 0 });

    await alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('e1'), event('e2'), event('e3')],
    });
    await alice.waitFor('ack');
    await bobSees;
    await alice.send({ type: 'no_such_message' });
    await alice.waitFor('error');
    const stranger = await RawClient.connect(harness.wsUrl);
    await stranger.send({ type: 'auth', token: 'wrong' });
    await stranger.waitFor('auth_failed');
    await stranger.closed;
    const pushed = await fetch(`${url}/api/events/todos`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-alice', 'content-type': 'application/json' },
      body: JSON.stringify(event('e4')),
    });
    expect(pushed.status).toBe(201);
    const read = await fetch(`${url}/api/events/todos?afterSequence=0`, {
      headers: { authorization: 'Bearer token-alice' },
    });
    expect(read.status).toBe(200);

    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const page = await response.text();
    const report = `${ourSeries(page)}\nbob received: ${bobMessages.map((m) => m.type).join(', ')}`;
    const expected = {
      'local_first_connections_opened_total{transport="ws"}': 2,
      'local_first_connections_opened_total{transport="socketio"}': 1,
      'local_first_connections_cut_total{reason="authFailed"}': 1,
      local_first_events_appended_total: 4,
      'local_first_ack_latency_seconds_count{via="socket"}': 1,
      'local_first_ack_latency_seconds_count{via="rest"}': 1,
      local_first_commit_seconds_count: 2,
      // e1–e3 to bob; e4 (over REST) to alice and bob.
      local_first_events_broadcast_total: 5,
      local_first_broadcast_messages_total: 3,
      'local_first_errors_total{type="error",code="unknown_type"}': 1,
      'local_first_errors_total{type="auth_failed",code="invalid_token"}': 1,
      local_first_catch_up_pages_total: 1,
      local_first_catch_up_events_total: 4,
    };
    const actual = Object.fromEntries(
      Object.keys(expected).map((series) => [series, sample(page, series)]),
    );
    expect(actual, report).toEqual(expected);
    // The process's own metrics are there too.
    expect(page).toContain('local_first_process_resident_memory_bytes');
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('is not served with metrics off', async () => {
    const harness = await startTestServer({ metrics: false });
    stops.push(() => harness.stop());
    expect((await fetch(`${harness.server.url}/metrics`)).status).toBe(404);
  });
});

describe('ServerMetrics as an engine observer', () => {
  it('measures the fan-out between nodes: events read from other nodes and their lag', async () => {
    const store = new MemoryEventStore();
    await store.open();
    const hub = new MemoryFanoutHub();
    const metrics = [
      new ServerMetrics({ processMetrics: false }),
      new ServerMetrics({ processMetrics: false }),
    ];
    const engines: SyncEngine[] = [];
    for (const observer of metrics) {
      const fanout = hub.node();
      await fanout.open();
      const engine = new SyncEngine({
        store,
        fanout,
        observer,
        authenticator: staticTokens(TOKENS_FIXTURE),
      });
      engines.push(engine);
      stops.push(async () => {
        await engine.close();
        await fanout.close();
      });
    }
    const [a, b] = engines as [SyncEngine, SyncEngine];
    const reader = await authenticated(b, 'token-bob');
    reader.send({ type: 'request_events', repository: 'todos', afterSequence: 0 });
    await reader.next('sync_complete');
    const writer = await authenticated(a);
    writer.send({ type: 'push_event', repository: 'todos', event: event('far') });
    await writer.next('ack');
    const relayed = await reader.next<{ type: string; events: { eventId: string }[] }>('events');
    expect(relayed.events.map((e) => e.eventId)).toEqual(['far']);

    const onB = await metrics[1]!.registry.metrics();
    const onA = await metrics[0]!.registry.metrics();
    expect(
      {
        relayedOnB: sample(onB, 'local_first_fanout_events_total'),
        lagSamplesOnB: sample(onB, 'local_first_fanout_lag_seconds_count'),
        relayedOnA: sample(onA, 'local_first_fanout_events_total'),
        appendedOnA: sample(onA, 'local_first_events_appended_total'),
      },
      `${ourSeries(onA)}\n---\n${ourSeries(onB)}`,
    ).toEqual({ relayedOnB: 1, lagSamplesOnB: 1, relayedOnA: 0, appendedOnA: 1 });
  });

  it('an observer that throws is logged once and the protocol goes on', async () => {
    const store = new MemoryEventStore();
    await store.open();
    const warn = vi.fn();
    const logger = { debug() {}, info() {}, warn, error() {} };
    const observer: EngineObserver = {
      committed() {
        throw new Error('broken metrics');
      },
    };
    const engine = new SyncEngine({
      store,
      observer,
      logger,
      authenticator: staticTokens(TOKENS_FIXTURE),
    });
    stops.push(() => engine.close());
    const client = await authenticated(engine);
    for (const id of ['one', 'two']) {
      client.send({ type: 'push_event', repository: 'todos', event: event(id) });
      expect(await client.next('ack')).toMatchObject({ eventIds: [id] });
    }
    expect(await store.lastSequence('todos')).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatchObject({ hook: 'committed' });
  });
});

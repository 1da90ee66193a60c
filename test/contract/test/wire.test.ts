import type { Transport } from '@local-first/core';
import { BaseTransportConnection, type TransportConnection } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import { CountingFetch, CountingTransport } from '../src/index.js';

// The sync suite's wire counters, over doubles: what they record is what the suite asserts on.

const BASE = 'http://sync.test';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

describe('CountingFetch', () => {
  it('records method, path, query, Authorization and status of each request', async () => {
    const counting = new CountingFetch(async (input, init) => {
      const { pathname } = new URL(input);
      if (pathname.endsWith('/batch')) return json(201, { type: 'ack', eventIds: ['e1'] });
      if (init.method === 'GET') return json(200, { events: [], hasMore: false });
      return json(404, { code: 'not_found' });
    });
    await counting.fetch(`${BASE}/api/events/todos/batch`, {
      method: 'POST',
      headers: { authorization: 'Bearer one', 'content-type': 'application/json' },
      body: '{"events":[]}',
    });
    await counting.fetch(`${BASE}/api/events/to%20do?afterSequence=3&limit=20`, {
      method: 'GET',
      headers: new Headers({ Authorization: 'Bearer two' }),
    });
    await counting.fetch(`${BASE}/api/health`, { method: 'GET' });
    expect(counting.requests).toEqual([
      {
        method: 'POST',
        path: '/api/events/todos/batch',
        query: '',
        authorization: 'Bearer one',
        status: 201,
      },
      {
        method: 'GET',
        path: '/api/events/to%20do',
        query: '?afterSequence=3&limit=20',
        authorization: 'Bearer two',
        status: 200,
      },
      { method: 'GET', path: '/api/health', query: '', authorization: undefined, status: 200 },
    ]);
    expect(counting.repositoriesRequested('POST')).toEqual(['todos']);
    expect(counting.repositoriesRequested('GET')).toEqual(['to do']);
    expect(counting.report()).toBe(
      '3 request(s), last: POST /api/events/todos/batch → 201, GET /api/events/to%20do?afterSequence=3&limit=20 → 200, GET /api/health → 200',
    );
  });

  it('counts as pages the reads of events answered 200, and no other request', async () => {
    const statuses = [200, 503, 200, 200];
    const counting = new CountingFetch(async () => json(statuses.shift() ?? 200, { events: [] }));
    for (let i = 0; i < 4; i++)
      await counting.fetch(`${BASE}/api/events/late?afterSequence=${i}`, { method: 'GET' });
    await counting.fetch(`${BASE}/api/events/late/batch`, { method: 'POST', body: '{}' });
    await counting.fetch(`${BASE}/api/ready`, { method: 'GET' });
    expect(counting.pagesReceived).toBe(3);
  });

  it('records a request that got no answer, and passes the failure on', async () => {
    const counting = new CountingFetch(async () => {
      throw new TypeError('fetch failed');
    });
    await expect(counting.fetch(`${BASE}/api/events/todos`, { method: 'GET' })).rejects.toThrow(
      'fetch failed',
    );
    expect(counting.requests).toMatchObject([{ status: undefined, error: 'fetch failed' }]);
    expect(counting.report()).toBe(
      '1 request(s), last: GET /api/events/todos → failed (fetch failed)',
    );
  });

  it('calls the inner fetch as a plain function, as a platform fetch needs', async () => {
    let receiver: unknown = 'not called';
    const counting = new CountingFetch(function (this: unknown) {
      receiver = this;
      return Promise.resolve(json(200, {}));
    });
    await counting.fetch(`${BASE}/api/health`, {});
    expect(receiver).toBeUndefined();
  });
});

class LoopConnection extends BaseTransportConnection {
  readonly sent: object[] = [];
  open = true;
  get isOpen(): boolean {
    return this.open;
  }
  send(message: object): void {
    this.sent.push(message);
  }
  close(): void {
    this.open = false;
  }
  receive(message: unknown): void {
    this.deliver(() => this.messages.emit(message));
  }
}

describe('CountingTransport', () => {
  it('counts connections, the messages sent with their repositories, and catch-up pages', async () => {
    const connections: LoopConnection[] = [];
    const inner: Transport = {
      name: 'loop',
      open: async (): Promise<TransportConnection> => {
        const connection = new LoopConnection();
        connections.push(connection);
        return connection;
      },
    };
    const counting = new CountingTransport(inner);
    expect(counting.name).toBe('loop');
    const connection = await counting.open('ws://sync.test/sync');
    connection.onMessage(() => undefined);
    connection.send({ type: 'auth', token: 't' });
    connection.send({ type: 'request_events', repository: 'notes', afterSequence: 0 });
    connection.send({ type: 'push_events_batch', repository: 'notes', events: [] });
    connection.send({ type: 'events_received', repository: 'settings', count: 1 });
    const [loop] = connections;
    loop!.receive({ type: 'events', repository: 'notes', events: [], hasMore: true });
    loop!.receive({ type: 'events', repository: 'notes', events: [], hasMore: false });
    // A live broadcast is not a page of a catch-up.
    loop!.receive({ type: 'events', repository: 'notes', events: [] });
    await counting.open('ws://sync.test/sync');

    expect(counting.opened).toBe(2);
    expect(counting.sentTypes).toEqual([
      'auth',
      'request_events',
      'push_events_batch',
      'events_received',
    ]);
    expect(counting.sentMessages).toEqual([
      { type: 'auth' },
      { type: 'request_events', repository: 'notes' },
      { type: 'push_events_batch', repository: 'notes' },
      { type: 'events_received', repository: 'settings' },
    ]);
    expect(counting.repositoriesSent('push_events_batch')).toEqual(['notes']);
    expect(counting.pagesReceived).toBe(2);
    expect(loop!.sent).toHaveLength(4);
    expect(counting.report()).toBe(
      '2 connection(s) opened, last sent: auth, request_events, push_events_batch, events_received',
    );
  });
});

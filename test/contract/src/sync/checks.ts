import type { StoredEvent } from '@local-first/core';
import { Emitter } from '@local-first/core/adapter';
import { expect } from 'vitest';
import { type Device, SYNC_WAIT_MS, until } from './harness.js';
import { fetchOf, type RestSyncSetup, type SyncSetup, type WebSocketSyncSetup } from './setup.js';
import { CountingFetch, type RequestRecord } from './wire.js';

// The scenarios' checks that depend on the wire: what "the same event again", "more than one
// page" and "a new token" look like over a WebSocket and over REST.

/** An event as it travels: without the fields only local storage keeps. */
export function wireEvent(event: StoredEvent): Record<string, unknown> {
  const { repository: _repository, syncStatus: _status, local: _local, ...sent } = event;
  return sent;
}

/**
 * Pushes an event the server already holds once more, as a retry after a lost ack would, on a
 * connection (or request) of its own with the first token, and returns the `duplicates` of the
 * server's ack. Over REST the answer must be a 201.
 */
export function pushAgain(
  setup: SyncSetup,
  repository: string,
  event: StoredEvent,
): Promise<string[] | undefined> {
  return setup.wire === 'rest'
    ? pushAgainOverRest(setup, repository, event)
    : pushAgainOverSocket(setup, repository, event);
}

interface Answer {
  type: string;
  duplicates?: string[];
}

async function pushAgainOverSocket(
  setup: WebSocketSyncSetup,
  repository: string,
  event: StoredEvent,
): Promise<string[] | undefined> {
  const [token] = setup.tokens;
  const raw = await setup
    .transport()
    .open(setup.websocketUrl, { headers: { Authorization: `Bearer ${token}` } });
  const answers = new Emitter<Answer>();
  const seen: string[] = [];
  raw.onMessage((message) => {
    const answer = message as Answer;
    seen.push(answer.type);
    if (answer.type === 'auth_success')
      raw.send({ type: 'push_event', repository, event: wireEvent(event) });
    answers.emit(answer);
  });
  const acked = until(
    answers,
    (answer) => answer.type === 'ack',
    `ack of the event pushed again to "${repository}"`,
    () => `the raw connection received: ${seen.join(', ') || 'nothing'}`,
  );
  raw.send({ type: 'auth', token });
  try {
    return (await acked).duplicates;
  } finally {
    raw.close(1000, 'done');
  }
}

async function pushAgainOverRest(
  setup: RestSyncSetup,
  repository: string,
  event: StoredEvent,
): Promise<string[] | undefined> {
  const url = `${setup.baseUrl.replace(/\/+$/, '')}/api/events/${encodeURIComponent(repository)}/batch`;
  let response: Response;
  try {
    response = await fetchOf(setup)(url, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        authorization: `Bearer ${setup.tokens[0]}`,
      },
      body: JSON.stringify({ events: [wireEvent(event)] }),
      signal: AbortSignal.timeout(SYNC_WAIT_MS),
    });
  } catch (error) {
    throw new Error(`POST ${url} got no answer: ${String(error)}`);
  }
  const text = await response.text();
  expect(response.status, `answer to POST ${url}: ${text}`).toBe(201);
  return (JSON.parse(text) as Answer).duplicates;
}

/** Where a device's wire stood when its token was replaced: the requests made until then. */
export function refreshMark(device: Device): number {
  return device.wire.kind === 'rest' ? device.wire.requests.length : device.wire.sentTypes.length;
}

/**
 * After `updateAuthToken(token)` at `mark` and a write that synced: over a WebSocket, the one
 * connection stayed up and authenticated again on it (two `auth` messages); over REST, every
 * request made after the replacement carried the new token, and the write's push was among
 * them, answered 201.
 */
export function expectRefreshed(device: Device, mark: number, token: string): void {
  const { wire } = device;
  if (wire.kind === 'websocket') {
    expect(wire.opened).toBe(1);
    expect(wire.sentTypes.filter((type) => type === 'auth')).toHaveLength(2);
    return;
  }
  const after = wire.requests.slice(mark);
  const bearer = `Bearer ${token}`;
  expect(
    after.filter((request) => request.authorization !== bearer).map(describeRequest),
    `requests of ${device.name} after the token was replaced that did not carry it`,
  ).toEqual([]);
  const pushes = after.filter((request) => request.method === 'POST');
  expect(
    pushes.filter((request) => request.status === 201).map(CountingFetch.repositoryOf),
    `pushes of ${device.name} after the token was replaced: ${pushes.map(describeRequest).join(', ') || 'none'}`,
  ).toContain(device.items.name);
}

function describeRequest(request: RequestRecord): string {
  const auth = request.authorization ?? 'no Authorization';
  return `${request.method} ${request.path}${request.query} (${auth}) → ${request.status ?? request.error ?? 'pending'}`;
}

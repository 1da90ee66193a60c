import {
  CountingFetch,
  CountingTransport,
  drained,
  until,
  type WireCounter,
} from '@local-first/contract';
import {
  ERROR_CODES,
  LocalFirstClient,
  type RecordData,
  Repository,
  type Stored,
  type SyncStrategy,
  silentLogger,
} from '@local-first/core';
import { PeriodicSyncStrategy } from '@local-first/periodic';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_PAGE_EVENTS, PERIODIC_TIMINGS } from '../src/combinations.js';
import { MATRIX_TOKENS, ServerProcess } from '../src/server-process.js';

// Clients that split their repositories between two strategies, beside clients with one, all
// against one real server process (SQLite store): the WebSocket strategy for `messages`, the
// periodic one over REST for `settings`. Whatever wire a change took, every client ends with
// the same contents, and each strategy of the mixed client keeps to its own repository.

interface Entry extends RecordData {
  id: string;
  text: string;
}

const REPOSITORIES = ['messages', 'settings'] as const;
type RepositoryName = (typeof REPOSITORIES)[number];

const [ALICE, BOB] = Object.keys(MATRIX_TOKENS) as [string, string];

/** One client with both repositories, and the counters of the wires its strategies use. */
interface Peer {
  name: string;
  client: LocalFirstClient;
  repositories: Record<RepositoryName, Repository<Entry>>;
  wires: WireCounter[];
}

let server: ServerProcess;
const peers: Peer[] = [];

beforeAll(async () => {
  server = new ServerProcess({ store: 'sqlite', maxPageEvents: MAX_PAGE_EVENTS });
  await server.start();
});

afterAll(async () => {
  for (const peer of peers) await peer.client.dispose().catch(() => undefined);
  await server?.dispose();
});

function webSocketStrategy(
  wire: CountingTransport,
  token: string,
  repositoryNames?: string[],
): WebSocketSyncStrategy {
  return new WebSocketSyncStrategy({
    websocketUrl: `${server.origin.replace(/^http/, 'ws')}/sync`,
    transport: wire,
    authToken: token,
    reconnectDelay: 50,
    maxReconnectDelay: 500,
    heartbeatInterval: 0,
    ...(repositoryNames ? { repositoryNames } : {}),
  });
}

function periodicStrategy(
  wire: CountingFetch,
  token: string,
  repositoryNames?: string[],
): PeriodicSyncStrategy {
  return new PeriodicSyncStrategy({
    baseUrl: server.origin,
    fetch: wire.fetch,
    authToken: token,
    ...PERIODIC_TIMINGS,
    ...(repositoryNames ? { repositoryNames } : {}),
  });
}

function repositories(): Record<RepositoryName, Repository<Entry>> {
  return {
    messages: new Repository<Entry>({ name: 'messages' }),
    settings: new Repository<Entry>({ name: 'settings' }),
  };
}

function clientOf(
  repositoriesOf: Record<RepositoryName, Repository<Entry>>,
  strategies: SyncStrategy[],
): LocalFirstClient {
  return new LocalFirstClient({
    repositories: REPOSITORIES.map((name) => repositoriesOf[name]),
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: strategies,
    logger: silentLogger,
  });
}

/** Opens a client over its strategies and waits until every one of them is connected. */
async function openPeer(
  name: string,
  strategies: SyncStrategy[],
  wires: WireCounter[],
): Promise<Peer> {
  const repositoriesOf = repositories();
  const client = clientOf(repositoriesOf, strategies);
  const peer = { name, client, repositories: repositoriesOf, wires };
  peers.push(peer);
  await client.initialize();
  await client.start();
  await until(
    client.connectionChanges,
    (state) => state.isConnected,
    `connection of every strategy of ${name}`,
    () => report([peer]),
  );
  return peer;
}

/** What the peers' wires saw, for a failed wait's report. */
function report(of: readonly Peer[]): string {
  return of
    .map((peer) => `${peer.name}: ${peer.wires.map((wire) => wire.report()).join(' | ')}`)
    .join('; ');
}

/** Entries as `id:text`, sorted by id, tombstones as `id:deleted`. */
function snapshot(entries: readonly Stored<Entry>[]): string[] {
  return entries.map((entry) =>
    entry._deleted ? `${entry.id}:deleted` : `${entry.id}:${entry.text}`,
  );
}

/** Waits until every peer reads exactly `expected` in each repository (tombstones included). */
async function convergedAll(
  of: readonly Peer[],
  expected: Record<RepositoryName, readonly string[]>,
): Promise<void> {
  for (const peer of of) {
    for (const name of REPOSITORIES) {
      const want = expected[name].join('|');
      await until(
        peer.repositories[name].query().includeDeleted().watch(),
        (entries) => snapshot(entries).join('|') === want,
        `convergence of ${peer.name}'s "${name}" on [${expected[name].join(', ')}]`,
        () => report(of),
        (entries) => `[${snapshot(entries).join(', ')}]`,
      );
    }
  }
}

describe('one client over two strategies, beside clients over one', () => {
  it('converges with WebSocket-only and periodic-only clients, each strategy on its repositories', async () => {
    const mixedSocket = new CountingTransport(new WsTransport({ WebSocket }));
    const mixedFetch = new CountingFetch(fetch);
    const mixedWebSocket = webSocketStrategy(mixedSocket, ALICE);
    const mixedPeriodic = periodicStrategy(mixedFetch, ALICE, ['settings']);
    const mixed = await openPeer(
      'mixed',
      [mixedWebSocket, mixedPeriodic],
      [mixedSocket, mixedFetch],
    );
    const onlySocket = new CountingTransport(new WsTransport({ WebSocket }));
    const socketOnly = await openPeer(
      'websocket-only',
      [webSocketStrategy(onlySocket, BOB)],
      [onlySocket],
    );
    const onlyFetch = new CountingFetch(fetch);
    const restOnly = await openPeer(
      'periodic-only',
      [periodicStrategy(onlyFetch, ALICE)],
      [onlyFetch],
    );
    const all = [mixed, socketOnly, restOnly];

    // Each client writes to both repositories: records of its own, one of them to be deleted.
    for (const peer of all) {
      await peer.repositories.messages.upsert({
        id: `${peer.name}-1`,
        text: `hello from ${peer.name}`,
      });
      await peer.repositories.messages.upsert({ id: `${peer.name}-2`, text: 'to be deleted' });
      await peer.repositories.settings.upsert({ id: `${peer.name}-lang`, text: 'en' });
      await peer.repositories.settings.upsert({ id: `${peer.name}-theme`, text: 'dark' });
    }
    const first = (make: (name: string) => string[]) =>
      all.flatMap((peer) => make(peer.name)).sort();
    await convergedAll(all, {
      messages: first((name) => [`${name}-1:hello from ${name}`, `${name}-2:to be deleted`]),
      settings: first((name) => [`${name}-lang:en`, `${name}-theme:dark`]),
    });

    // Then each deletes a record of its own and one of the next client's, and edits the next
    // client's message and its own theme: one writer per record, so the outcome is fixed.
    for (const [index, peer] of all.entries()) {
      const next = all[(index + 1) % all.length]!.name;
      await peer.repositories.messages.delete(`${peer.name}-2`);
      await peer.repositories.messages.upsert({ id: `${next}-1`, text: `edited by ${peer.name}` });
      await peer.repositories.settings.delete(`${next}-lang`);
      await peer.repositories.settings.upsert({ id: `${peer.name}-theme`, text: 'light' });
    }
    const editor = (index: number) => all[(index + all.length - 1) % all.length]!.name;
    const expected = {
      messages: all
        .flatMap((peer, index) => [
          `${peer.name}-1:edited by ${editor(index)}`,
          `${peer.name}-2:deleted`,
        ])
        .sort(),
      settings: first((name) => [`${name}-lang:deleted`, `${name}-theme:light`]),
    };
    await convergedAll(all, expected);
    for (const peer of all) await drained(peer, () => report(all));
    expect(
      await Promise.all(all.map(async (peer) => (await peer.client.getPendingEvents()).length)),
    ).toEqual([0, 0, 0]);

    // Routing: the mixed client's periodic strategy asked for and pushed `settings` only, its
    // WebSocket strategy pushed `messages` only.
    expect(mixedFetch.repositoriesRequested('POST')).toContain('settings');
    expect(mixedFetch.repositoriesRequested('POST')).not.toContain('messages');
    expect([...new Set(mixedFetch.requests.map(CountingFetch.repositoryOf))]).toEqual(['settings']);
    expect(mixedSocket.repositoriesSent('push_events_batch')).toContain('messages');
    expect(mixedSocket.repositoriesSent('push_events_batch')).not.toContain('settings');
    // The server broadcasts `settings` on the socket too (the account may read it); the
    // WebSocket strategy leaves it to the periodic one: no confirmation, no catch-up of it.
    expect(mixedSocket.sentMessages.filter((message) => message.repository === 'settings')).toEqual(
      [],
    );
    expect(mixed.client.connectionState.strategies).toEqual({
      [mixedWebSocket.name]: 'connected',
      [mixedPeriodic.name]: 'connected',
    });
    expect(Object.keys(mixed.client.connectionState.strategies)).toEqual(['websocket', 'periodic']);
  });

  it('refuses, at initialize(), a repository two strategies would sync', async () => {
    // Both list `settings`.
    const listed = clientOf(repositories(), [
      webSocketStrategy(new CountingTransport(new WsTransport({ WebSocket })), ALICE, [
        'messages',
        'settings',
      ]),
      periodicStrategy(new CountingFetch(fetch), ALICE, ['settings']),
    ]);
    await expect(listed.initialize()).rejects.toMatchObject({
      code: ERROR_CODES.invalidArgument,
      details: { repository: 'settings', strategies: ['websocket', 'periodic'] },
    });
    // Neither lists any: both would take every repository.
    const unlisted = clientOf(repositories(), [
      webSocketStrategy(new CountingTransport(new WsTransport({ WebSocket })), ALICE),
      periodicStrategy(new CountingFetch(fetch), ALICE),
    ]);
    await expect(unlisted.initialize()).rejects.toMatchObject({
      code: ERROR_CODES.invalidArgument,
      details: { repository: 'messages' },
    });
  });
});

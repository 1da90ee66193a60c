import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  LocalFirstClient,
  type Rejection,
  Repository,
  type StoredEvent,
  silentLogger,
  uuidv7,
} from '@local-first/core';
import { formatHlc, parsePosition } from '@local-first/core/adapter';
import { privateCopyName, Rules, staticTokens } from '@local-first/server';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { WsTransport } from '@local-first/transport-ws';
import { WsTransportServer } from '@local-first/transport-ws/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type SyncActivity, WebSocketSyncStrategy } from '../src/index.js';
import { makeRecordingEngine, type RecordingEngine, type Todo } from './strategy-fixtures.js';

// One client, one namespace per account, against the real engine over a real socket: random
// writes, namespace switches with their credentials given in every order the API allows,
// token refreshes, writes of the account's other devices, restarts and dropped connections.
// Whatever happens, no change of one namespace reaches the server as another account, and
// every namespace ends up holding exactly its own account's log, by its own cursor.

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() % 2 ** 31;
const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);
const SETTLE_MS = 10_000;

const ACCOUNTS = ['alice', 'bob', 'carol'] as const;
type Account = (typeof ACCOUNTS)[number];
const namespaceOf = (account: Account) => `account:${account}`;
/** Two tokens per account: a refresh swaps them; both are the same user. */
const tokenOf = (account: Account, second = false) => `${account}-${second ? 2 : 1}`;
const TOKENS = Object.fromEntries(
  ACCOUNTS.flatMap((account) => [
    [tokenOf(account), account],
    [tokenOf(account, true), account],
  ]),
);

/** How an app gives a namespace and its credentials. */
type Switching = 'together' | 'credentials first' | 'token after' | 'bare';

type Step =
  | { kind: 'write'; overlap: boolean }
  | { kind: 'switch'; account: Account; how: Switching; overlap: boolean }
  | { kind: 'refresh' }
  | { kind: 'drop' }
  | { kind: 'other device'; account: Account }
  | { kind: 'settle' }
  | { kind: 'restart' };

const anyAccount = fc.constantFrom(...ACCOUNTS);
const anyStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('write' as const), overlap: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('switch' as const),
      account: anyAccount,
      how: fc.constantFrom<Switching>('together', 'credentials first', 'token after', 'bare'),
      overlap: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'refresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('other device' as const), account: anyAccount }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

/** A real server: the recording engine with a private `todos` per user, on a ws endpoint. */
async function startServer() {
  const { engine, store } = await makeRecordingEngine({
    authenticator: staticTokens(TOKENS),
    rules: Rules.compile({ repositories: [{ repository: 'todos', private: true }] }, 'private'),
    limits: { pingIntervalMs: 0 },
  });
  const http: Server = createServer((_request, response) => {
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  engine.attach(new WsTransportServer({ server: http }));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/sync`;
  const stop = async () => {
    await engine.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return { engine, store, url, stop };
}

/** The app under test: one client whose first namespace is alice's, her token in the options. */
async function startApp(url: string) {
  const todos = new Repository<Todo>({ name: 'todos' });
  const strategy = new WebSocketSyncStrategy({
    websocketUrl: url,
    transport: new WsTransport({ WebSocket }),
    authToken: tokenOf('alice'),
    namespace: namespaceOf('alice'),
    reconnectDelay: 10,
    maxReconnectDelay: 50,
  });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  await client.useNamespace(namespaceOf('alice'));
  await client.start();
  const rejections: Rejection[] = [];
  client.rejections.subscribe((rejection) => rejections.push(rejection));
  const activity: SyncActivity[] = [];
  strategy.activityChanges.subscribe((item) => activity.push(item));
  return { client, strategy, todos, rejections, activity };
}

type App = Awaited<ReturnType<typeof startApp>>;

/** Runs the steps; returns the event ids the account's other devices wrote on the server. */
async function play(app: App, engine: RecordingEngine, steps: readonly Step[]) {
  const { client, strategy, todos } = app;
  const overlapping: Promise<unknown>[] = [];
  const withCredentials = new Set<Account>(['alice']);
  const others = new Map<string, Account>();
  let current: Account = 'alice';
  let second = false;
  let serial = 0;
  for (const step of steps) {
    switch (step.kind) {
      case 'write': {
        serial += 1;
        const write = todos.upsert({ id: `w${serial}`, title: `write ${serial}` });
        if (step.overlap) overlapping.push(write);
        else await write;
        break;
      }
      case 'switch': {
        const { account } = step;
        const namespace = namespaceOf(account);
        const credentials = { authToken: tokenOf(account) };
        let switched: Promise<void>;
        if (step.how === 'together') switched = client.useNamespace(namespace, { credentials });
        else if (step.how === 'credentials first') {
          strategy.updateCredentials(credentials, { namespace });
          switched = client.useNamespace(namespace);
        } else if (step.how === 'token after') {
          switched = client.useNamespace(namespace);
          strategy.updateAuthToken(credentials.authToken);
        } else switched = client.useNamespace(namespace);
        if (step.how !== 'bare') withCredentials.add(account);
        current = account;
        if (step.overlap) overlapping.push(switched);
        else await switched;
        break;
      }
      case 'refresh':
        // The account in use renews its token: the same user, on the open socket.
        second = !second;
        if (withCredentials.has(current)) strategy.updateAuthToken(tokenOf(current, second));
        break;
      case 'drop':
        engine.dropConnections();
        break;
      case 'other device': {
        serial += 1;
        const eventId = uuidv7(Date.now());
        others.set(eventId, step.account);
        const id = `d${serial}`;
        await engine.push({ userId: step.account }, 'todos', [
          {
            eventId,
            operation: 0,
            createdAt: new Date().toISOString(),
            dataId: id,
            data: { id, title: `from ${step.account}'s other device` },
            hlc: formatHlc({ wall: Date.now(), counter: serial }, 'other-device'),
          },
        ]);
        break;
      }
      case 'settle':
        await Promise.all(overlapping.splice(0));
        if (withCredentials.has(current)) await settled(app, `settling in ${current}'s namespace`);
        break;
      case 'restart':
        await client.stop();
        await client.start();
        break;
    }
  }
  await Promise.all(overlapping);
  return others;
}

/** Waits for the strategy to be synced in the namespace in use; fails with what it saw. */
async function settled(app: App, what: string): Promise<void> {
  if (await app.strategy.whenSynced(SETTLE_MS)) return;
  const pending = (await app.client.getPendingEvents()).length;
  throw new Error(
    `${what}: not synced after ${SETTLE_MS} ms; state ${app.strategy.connectionState}, ` +
      `namespace ${app.client.namespace}, ${pending} pending, last activity ` +
      JSON.stringify(app.activity.slice(-3)),
  );
}

/** Each namespace synced with its own credentials; its local log and cursor, by account. */
async function finalState(app: App, url: string) {
  const logs = new Map<Account, StoredEvent[]>();
  const cursors = new Map<Account, number>();
  for (const account of ACCOUNTS) {
    await app.client.useNamespace(namespaceOf(account), {
      credentials: { authToken: tokenOf(account) },
    });
    await settled(app, `the final sync of ${account}'s namespace`);
    // Own acknowledged pushes do not move the cursor; a catch-up from it with nothing pending
    // brings it to the end of the account's log, or resets it if it points past that end.
    await app.client.stop();
    await app.client.start();
    await settled(app, `the catch-up from ${account}'s cursor`);
    logs.set(account, await app.client.storage.getEvents());
    const meta = await app.client.storage.getMeta(`websocket:cursor:${url}:todos`);
    cursors.set(account, parsePosition(meta).sequence);
  }
  return { logs, cursors };
}

describe('namespaces and credentials over a real socket (property)', () => {
  it('never sends one namespace’s changes as another account, and gives each its own log', async () => {
    console.info(
      `[namespaces property] fast-check seed ${SEED} (replay with FC_SEED=${SEED}; FC_NUM_RUNS=${NUM_RUNS})`,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(anyStep, { minLength: 1, maxLength: 30 }), async (steps) => {
        const server = await startServer();
        const app = await startApp(server.url);
        try {
          const others = await play(app, server.engine, steps);
          const { logs, cursors } = await finalState(app, server.url);
          const owner = new Map<string, Account>(others);
          for (const [account, log] of logs)
            for (const event of log) if (event.local) owner.set(event.eventId, account);

          // Every push arrived as the account whose namespace holds its events.
          const strays = server.engine.pushes.flatMap((push) =>
            push.eventIds
              .filter((eventId) => owner.get(eventId) !== push.userId)
              .map((eventId) => ({ eventId, pushedAs: push.userId, of: owner.get(eventId) })),
          );
          expect(strays).toEqual([]);
          expect(app.rejections).toEqual([]);
          // One server, never restored: a reset can only come from another account's cursor.
          expect(app.activity.filter((item) => item.type === 'reset')).toEqual([]);

          for (const account of ACCOUNTS) {
            const stored = server.store;
            const copy = privateCopyName(account, 'todos');
            const onServer = (await stored.readAfter(copy, 0, 10_000)).events;
            const local = logs.get(account)!;
            // The namespace holds exactly its account's log: all of it, nothing of another.
            expect({ account, ids: local.map((event) => event.eventId).sort() }).toEqual({
              account,
              ids: onServer.map((event) => event.eventId).sort(),
            });
            expect(local.filter((event) => event.syncStatus !== 'ok')).toEqual([]);
            expect({ account, cursor: cursors.get(account) }).toEqual({
              account,
              cursor: await stored.lastSequence(copy),
            });
          }
        } finally {
          await app.client.dispose();
          await server.stop();
        }
      }),
      { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true },
    );
  }, 180_000);
});

import {
  type ConnectionState,
  LocalFirstClient,
  type RecordData,
  Repository,
  type Stored,
  silentLogger,
} from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import {
  type PostgresInstance,
  postgresMissingFor,
  startPostgres,
} from '@local-first/test-services';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RoundRobinBalancer } from '../src/round-robin.js';
import { MATRIX_TOKENS, ServerProcess } from '../src/server-process.js';

const REPOSITORY = 'todos';
/** Under the test's timeout: a wait that fails says what it saw. */
const WAIT_MS = 15_000;

interface Todo extends RecordData {
  id: string;
  title: string;
}

interface Device {
  name: string;
  client: LocalFirstClient;
  todos: Repository<Todo>;
  strategy: WebSocketSyncStrategy;
  states: ConnectionState[];
}

async function openDevice(name: string, url: string, token: string): Promise<Device> {
  const todos = new Repository<Todo>({ name: REPOSITORY });
  const strategy = new WebSocketSyncStrategy({
    websocketUrl: url,
    transport: new WsTransport({ WebSocket }),
    authToken: token,
    repositories: [REPOSITORY],
    reconnectDelay: 50,
    maxReconnectDelay: 500,
    heartbeatInterval: 0,
  });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  const states: ConnectionState[] = [];
  strategy.stateChanges.subscribe((state) => states.push(state));
  await client.start();
  const device = { name, client, todos, strategy, states };
  await connected(device);
  return device;
}

/** Resolves once the device's strategy is connected; else fails with the states it went through. */
function connected(device: Device): Promise<void> {
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(`${device.name} not connected after ${WAIT_MS} ms: ${device.states.join(' → ')}`),
      );
    }, WAIT_MS);
    stop = device.strategy.stateChanges.subscribe((state) => {
      if (state !== 'connected') return;
      clearTimeout(timer);
      queueMicrotask(() => stop());
      resolve();
    });
  });
}

/** Resolves once the device holds exactly these ids; else fails naming what it holds. */
function holds(device: Device, ids: readonly string[]): Promise<void> {
  const want = [...ids].sort().join(',');
  return new Promise((resolve, reject) => {
    let last: string[] = [];
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(
          `${device.name} holds [${last.join(',')}], not [${want}] after ${WAIT_MS} ms; its states: ${device.states.join(' → ')}`,
        ),
      );
    }, WAIT_MS);
    stop = device.todos
      .query()
      .watch()
      .subscribe((items: readonly Stored<Todo>[]) => {
        last = items.map((item) => item.id).sort();
        if (last.join(',') !== want) return;
        clearTimeout(timer);
        queueMicrotask(() => stop());
        resolve();
      });
  });
}

/** Resolves once the device has nothing pending; else fails with the count and its states. */
function drained(device: Device): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = -1;
    let done = false;
    let stop = () => {};
    const timer = setTimeout(() => {
      done = true;
      stop();
      reject(
        new Error(
          `${device.name} has ${left} pending after ${WAIT_MS} ms: ${device.states.join(' → ')}`,
        ),
      );
    }, WAIT_MS);
    const check = () =>
      void device.client.getPendingEvents().then((pending) => {
        left = pending.length;
        if (done || left > 0) return;
        done = true;
        clearTimeout(timer);
        stop();
        resolve();
      });
    stop = device.client.pendingChanges.subscribe(check);
    check();
  });
}

const missing = postgresMissingFor('the load-balancer test');

describe.skipIf(missing !== undefined)(
  'behind a plain TCP load balancer (round robin, no stickiness)',
  () => {
    let postgres: PostgresInstance;
    const nodes: ServerProcess[] = [];
    let balancer: RoundRobinBalancer;
    const devices: Device[] = [];

    beforeAll(async () => {
      postgres = await startPostgres();
      for (let index = 0; index < 2; index++) {
        const node = new ServerProcess({
          store: 'postgres',
          connectionString: postgres.connectionString,
          maxPageEvents: 50,
        });
        await node.start();
        nodes.push(node);
      }
      balancer = new RoundRobinBalancer(() => nodes.map((node) => node.port));
      await balancer.start();
    }, 120_000);

    afterAll(async () => {
      for (const device of devices) await device.client.dispose();
      await balancer?.stop();
      for (const node of nodes) await node.dispose();
      await postgres?.stop();
    });

    it('clients on different nodes see each other live; a killed node loses no write', async () => {
      const url = `ws://127.0.0.1:${balancer.port}/sync`;
      const [aliceToken, bobToken] = Object.keys(MATRIX_TOKENS) as [string, string];
      const alice = await openDevice('alice', url, aliceToken);
      devices.push(alice);
      const bob = await openDevice('bob', url, bobToken);
      devices.push(bob);
      // Round robin: alice's connection went to node A, bob's to node B.
      const [nodeA, nodeB] = nodes as [ServerProcess, ServerProcess];
      expect(balancer.routed, 'the backends the balancer chose').toEqual([nodeA.port, nodeB.port]);

      await alice.todos.upsert({ id: 'a1', title: 'from alice on A' });
      await bob.todos.upsert({ id: 'b1', title: 'from bob on B' });
      await holds(bob, ['a1', 'b1']);
      await holds(alice, ['a1', 'b1']);

      // Node A dies; the balancer still sends every other new connection to it.
      await nodeA.kill();
      await alice.todos.upsert({ id: 'a2', title: 'written while A is dead' });
      // Her own write is hers at once; it is on B once bob has it, and acknowledged once drained.
      await bob.todos.upsert({ id: 'b2', title: 'from bob, still on B' });
      await holds(bob, ['a1', 'b1', 'a2', 'b2']);
      await holds(alice, ['a1', 'b1', 'a2', 'b2']);
      await drained(alice);
      await drained(bob);
      // Alice got through on B after one or more tries on the dead node.
      expect(balancer.routed.slice(2)).toContain(nodeB.port);
    });
  },
);

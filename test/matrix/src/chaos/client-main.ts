/**
 * One chaos client, as its own process: a LocalFirstClient on sql.js saved to a file after
 * every transaction, syncing over ws or socket.io through the test's proxy. It writes at a
 * seeded pace and prints a JSON line for every write that resolved; commands on stdin stop it,
 * sync it and have it report its state. Nothing here catches what the framework throws by
 * itself: an uncaught exception ends the process with a non-zero code, and the test fails.
 */
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { inspect } from 'node:util';
import {
  LocalFirstClient,
  type Logger,
  type QuerySpec,
  Repository,
  type StoredRecord,
} from '@local-first/core';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import { io } from 'socket.io-client';
import initSqlJs from 'sql.js';
import WebSocket from 'ws';
import {
  type ChaosTodo,
  type ClientCommand,
  type ClientConfig,
  type ClientLine,
  REPOSITORY,
} from './messages.js';
import { between, deriveSeed, generator } from './random.js';

const require = createRequire(import.meta.url);
const config = JSON.parse(process.argv[2] ?? '') as ClientConfig;
const label = `${config.name}#${config.incarnation}`;
const random = generator(deriveSeed(config.seed, label));
const ALL_RECORDS: QuerySpec = { where: [], orderBy: [], includeDeleted: true };

function emit(line: ClientLine): void {
  // Writes to a pipe are synchronous on Linux: a line printed is a line the test can read,
  // even if a SIGKILL follows at once.
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// stdout carries the protocol with the test; everything worth a human's eye goes to stderr.
const stderrLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (context, message) =>
    process.stderr.write(`[${label}] warn: ${message} ${inspect(context, { depth: 4 })}\n`),
  error: (context, message) =>
    process.stderr.write(`[${label}] error: ${message} ${inspect(context, { depth: 4 })}\n`),
};

const storage = new SqlJsStorageAdapter({
  sqlJs: initSqlJs({ locateFile: (file: string) => require.resolve(`sql.js/dist/${file}`) }),
  persister: new NodeFilePersister({ path: config.storageFile }),
  flushEachTransaction: true,
  logger: stderrLogger,
});
const strategy = new WebSocketSyncStrategy({
  websocketUrl: config.url,
  transport:
    config.transport === 'ws' ? new WsTransport({ WebSocket }) : new SocketIoTransport({ io }),
  authToken: config.token,
  heartbeatInterval: config.heartbeatIntervalMs,
  pongTimeout: config.pongTimeoutMs,
  reconnectDelay: config.reconnectDelayMs,
  maxReconnectDelay: config.maxReconnectDelayMs,
  stableConnectionMs: 4 * config.maxReconnectDelayMs,
  connectTimeout: config.connectTimeoutMs,
  authTimeout: config.connectTimeoutMs,
  random: generator(deriveSeed(config.seed, `${label}:jitter`)),
  logger: stderrLogger,
});
const todos = new Repository<ChaosTodo>({ name: REPOSITORY });
const client = new LocalFirstClient({
  repositories: [todos],
  localStorage: storage,
  syncStrategies: [strategy],
  logger: stderrLogger,
});

let writing = true;
let writes = 0;
let counter = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let current: Promise<void> = Promise.resolve();

/** One write, chosen before anything is awaited so the sequence of choices is the seed's. */
async function writeOnce(): Promise<void> {
  const id = config.recordIds[Math.floor(random() * config.recordIds.length)]!;
  const remove = random() < config.deleteShare;
  const done = random() < 0.5;
  if (remove) {
    try {
      const event = await todos.delete(id);
      // Deleting what is absent or already deleted writes nothing.
      if (event) {
        writes++;
        emit({ type: 'write', op: 'delete', id, eventId: event.eventId });
      }
    } catch (error) {
      emit({ type: 'write_failed', op: 'delete', id, error: inspect(error) });
    }
    return;
  }
  const value = `${label}.${++counter}`;
  try {
    const event = await todos.upsert({ id, value, writer: config.name, done });
    writes++;
    emit({ type: 'write', op: 'upsert', id, eventId: event.eventId, value });
  } catch (error) {
    emit({ type: 'write_failed', op: 'upsert', id, error: inspect(error) });
  }
}

function scheduleWrite(): void {
  if (!writing) return;
  timer = setTimeout(
    () => {
      timer = undefined;
      current = writeOnce().then(scheduleWrite);
    },
    between(random, config.paceMs[0], config.paceMs[1]),
  );
}

async function sync(timeoutMs: number): Promise<void> {
  writing = false;
  clearTimeout(timer);
  await current;
  const synced = await strategy.whenSynced(timeoutMs);
  emit({
    type: 'synced',
    synced,
    writes,
    pending: (await todos.getPendingEvents()).length,
    connection: strategy.connectionState,
  });
}

function matches(records: readonly StoredRecord[], expected: Record<string, string>): boolean {
  if (records.length !== Object.keys(expected).length) return false;
  return records.every((record) => expected[record.id] === record.eventId);
}

/** Waits for the expected state (every change of the repository is a moment to look again). */
async function finish(
  expected: Record<string, string>,
  events: number,
  timeoutMs: number,
): Promise<void> {
  const converged = await new Promise<boolean>((resolve) => {
    let settled = false;
    const settle = (value: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      stop();
      resolve(value);
    };
    const deadline = setTimeout(() => settle(false), timeoutMs);
    const stop = todos
      .query()
      .includeDeleted()
      .watch()
      .subscribe(() => {
        void (async () => {
          const records = await storage.queryRecords(REPOSITORY, ALL_RECORDS);
          if (!matches(records, expected)) return;
          // The winners may come live before a catch-up has brought every older event.
          const logged = await storage.getEvents({ repository: REPOSITORY });
          if (logged.length >= events) settle(true);
        })();
      });
  });
  const records = await storage.queryRecords(REPOSITORY, ALL_RECORDS);
  const visible = await todos.query().includeDeleted().get();
  const logged = await storage.getEvents({ repository: REPOSITORY });
  const localEvents = logged
    .filter((event) => event.local)
    .map((event) => ({
      eventId: event.eventId,
      dataId: event.dataId,
      syncStatus: event.syncStatus,
    }));
  const loggedEventIds = logged.map((event) => event.eventId);
  emit({ type: 'state', converged, records, visible, localEvents, loggedEventIds });
  await client.dispose();
  process.exit(0);
}

await client.initialize();
strategy.stateChanges.subscribe((state) => emit({ type: 'connection', state }));
await client.start();
emit({
  type: 'ready',
  clientId: client.clientId,
  incarnation: config.incarnation,
  pending: (await todos.getPendingEvents()).length,
  records: (await storage.queryRecords(REPOSITORY, ALL_RECORDS)).length,
});
scheduleWrite();

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const command = JSON.parse(line) as ClientCommand;
  if (command.type === 'sync') void sync(command.timeoutMs);
  else void finish(command.expected, command.events, command.timeoutMs);
});
// The test went away without telling us to finish: nobody is left to read what we print.
commands.on('close', () => process.exit(3));

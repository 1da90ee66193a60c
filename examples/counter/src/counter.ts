import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalFirstClient, Repository } from '@local-first/core';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import { io } from 'socket.io-client';
import initSqlJs from 'sql.js';

/** How long a one-shot run waits for the server, unless SYNC_DEADLINE_MS says otherwise. */
const DEFAULT_SYNC_DEADLINE_MS = 10_000;

function syncDeadline(): number {
  const fromEnvironment = Number(process.env.SYNC_DEADLINE_MS);
  return fromEnvironment > 0 ? fromEnvironment : DEFAULT_SYNC_DEADLINE_MS;
}

const USAGE = `Usage: pnpm example:counter -- [increment [N] | decrement [N]] [--device NAME]

Prints the shared counter after syncing with the server; increment or decrement it first.
  --device NAME   which device this is (default laptop): each keeps its own database, in
                  examples/counter/data/NAME.sqlite
  --data FILE     the database file, to keep it elsewhere
Environment: SYNC_URL (default http://127.0.0.1:8080), SYNC_TOKEN, SYNC_DEADLINE_MS.
`;

/**
 * The counter is one record per device, holding what that device has added up; its value is
 * the sum over all of them. Conflicts resolve last-writer-wins per record, so a single shared
 * record `{ value }` would lose increments: two devices that both read 5 and write 6 end at 6.
 * Here only a device ever writes its own record, so no two writes compete and every increment
 * counts, made offline or not. (A record per increment would be just as safe, but would grow
 * with every click; this grows with the number of devices.)
 */
interface DeviceCount {
  /** The id of the device (its client id) that owns this record. */
  id: string;
  count: number;
}

const serverUrl = process.env.SYNC_URL ?? 'http://127.0.0.1:8080';
const here = dirname(fileURLToPath(import.meta.url));

function readCommandLine(): { delta: number; data: string } | undefined {
  // pnpm hands on the `--` of `pnpm example:counter -- …`; it must not end the options.
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      device: { type: 'string', default: 'laptop' },
      data: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const [command = 'show', amount = '1', ...rest] = positionals;
  const step = Number(amount);
  const sign = { show: 0, increment: 1, decrement: -1 }[command];
  if (values.help || sign === undefined || !Number.isSafeInteger(step) || rest.length > 0)
    return undefined;
  const file = `${values.device.replace(/[^\w-]/g, '_')}.sqlite`;
  return { delta: sign * step, data: values.data ?? join(here, '..', 'data', file) };
}

const command = readCommandLine();
if (!command) {
  process.stdout.write(USAGE);
  process.exit(2);
}

const counts = new Repository<DeviceCount>({ name: 'counter' });
const sync = new WebSocketSyncStrategy({
  websocketUrl: serverUrl,
  transport: new SocketIoTransport({ io }),
  authToken: process.env.SYNC_TOKEN,
  reconnectDelay: 250,
});
const client = new LocalFirstClient({
  repositories: [counts],
  localStorage: new SqlJsStorageAdapter({
    sqlJs: initSqlJs(),
    persister: new NodeFilePersister({ path: command.data }),
    // A command-line run may end any moment: each write is in the file before it resolves.
    flushEachTransaction: true,
  }),
  syncStrategies: [sync],
});
await client.initialize();

// The write is local and immediate; syncing comes after and may fail without losing it.
const device = client.clientId;
if (command.delta !== 0) {
  const mine = await counts.getById(device);
  await counts.upsert({ id: device, count: (mine?.count ?? 0) + command.delta });
}

await client.start();
// Waits until this device is caught up and the server has acknowledged every change.
const reached = await sync.whenSynced(syncDeadline());

const all = await counts.query().get();
const total = all.reduce((sum, record) => sum + record.count, 0);
const own = all.find((record) => record.id === device)?.count ?? 0;
console.log(`counter: ${total}`);
console.log(`  this device: ${own}, devices that counted: ${all.length}`);
if (!reached) {
  console.log(`  not synced: no answer from ${serverUrl} (is \`pnpm start\` running?);`);
  console.log('  the change is kept on this device and goes out on the next run');
  process.exitCode = 1;
}
await client.dispose();

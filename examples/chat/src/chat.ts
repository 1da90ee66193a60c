import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalFirstClient, Repository, uuidv7 } from '@local-first/core';
import { PeriodicSyncStrategy } from '@local-first/periodic';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import { NodeFilePersister } from '@local-first/storage-sqljs/node';
import { SocketIoTransport } from '@local-first/transport-socketio';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import { io } from 'socket.io-client';
import initSqlJs from 'sql.js';

/** How long a one-shot run waits for the server, unless SYNC_DEADLINE_MS says otherwise. */
const DEFAULT_SYNC_DEADLINE_MS = 10_000;

/** A positive number of ms from the environment, or the default. */
function milliseconds(name: string, fallback: number): number {
  const fromEnvironment = Number(process.env[name]);
  return fromEnvironment > 0 ? fromEnvironment : fallback;
}

const USAGE = `Usage: pnpm example:chat -- --name NAME [MESSAGE] [--status TEXT] [--follow] [--data FILE]

Sends MESSAGE (if given), syncs with the server and prints the latest messages and who is here.
  --name NAME     who you are
  --status TEXT   your status for the others ("away", "on holiday"); "" clears it
  --follow        stay: print new messages as they come; type a line to send it (Ctrl-C leaves)
  --data FILE     this device's database (default examples/chat/data/NAME.sqlite)
Messages sync in real time (socket.io); statuses are settings, synced every few seconds (REST).
Environment: SYNC_URL (default http://127.0.0.1:8080), SYNC_TOKEN, SYNC_DEADLINE_MS,
SETTINGS_INTERVAL_MS (default 5000).
`;

/** Every message is a record of its own, written once: two people never edit the same one. */
interface Message {
  id: string;
  author: string;
  text: string;
  sentAt: number;
}

/** One per person, written by that person only: their settings, as the room sees them. */
interface Member {
  id: string;
  status: string;
  updatedAt: number;
}

const HISTORY = 20;
const serverUrl = process.env.SYNC_URL ?? 'http://127.0.0.1:8080';
const here = dirname(fileURLToPath(import.meta.url));

function readCommandLine() {
  // pnpm hands on the `--` of `pnpm example:chat -- …`; it must not end the options.
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      name: { type: 'string' },
      follow: { type: 'boolean', default: false },
      status: { type: 'string' },
      data: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const name = values.name?.trim();
  if (values.help || !name) return undefined;
  return {
    name,
    text: positionals.join(' ').trim(),
    follow: values.follow,
    status: values.status,
    data: values.data ?? join(here, '..', 'data', `${name.replace(/[^\w-]/g, '_')}.sqlite`),
  };
}

const command = readCommandLine();
if (!command) {
  process.stdout.write(USAGE);
  process.exit(2);
}

const messages = new Repository<Message>({ name: 'chat', indexes: ['sentAt'] });
const members = new Repository<Member>({ name: 'chat-members' });
// Messages in real time over a socket; it takes every repository no other strategy lists.
const live = new WebSocketSyncStrategy({
  websocketUrl: serverUrl,
  transport: new SocketIoTransport({ io }),
  authToken: process.env.SYNC_TOKEN,
  reconnectDelay: 250,
});
// Settings change rarely and may arrive late: a request every few seconds over REST.
const periodic = new PeriodicSyncStrategy({
  baseUrl: serverUrl,
  repositoryNames: ['chat-members'],
  authToken: process.env.SYNC_TOKEN,
  syncInterval: milliseconds('SETTINGS_INTERVAL_MS', 5_000),
  retryDelay: 250,
});
const client = new LocalFirstClient({
  repositories: [messages, members],
  localStorage: new SqlJsStorageAdapter({
    sqlJs: initSqlJs(),
    persister: new NodeFilePersister({ path: command.data }),
    // A command-line run may end any moment: each write is in the file before it resolves.
    flushEachTransaction: true,
  }),
  syncStrategies: [live, periodic],
});
await client.initialize();

async function send(text: string): Promise<void> {
  await messages.upsert({ id: uuidv7(), author: command!.name, text, sentAt: Date.now() });
}

function line(message: Message): string {
  const time = new Date(message.sentAt).toTimeString().slice(0, 5);
  return `[${time}] ${message.author}: ${message.text}`;
}

function who(member: Member): string {
  return member.status ? `${member.id} (${member.status})` : member.id;
}

// Stored at once, online or not; syncing comes after and may fail without losing anything.
if (command.text) await send(command.text);
if (command.status !== undefined || !(await members.getById(command.name)))
  await members.upsert({
    id: command.name,
    status: command.status?.trim() ?? '',
    updatedAt: Date.now(),
  });

await client.start();
// Waits until both strategies are caught up and the server has acknowledged every change.
const deadline = milliseconds('SYNC_DEADLINE_MS', DEFAULT_SYNC_DEADLINE_MS);
const reached = (
  await Promise.all([live.whenSynced(deadline), periodic.whenSynced(deadline)])
).every(Boolean);
if (!reached) {
  console.log(
    `(offline: no answer from ${serverUrl}; is \`pnpm start\` running? Messages wait here.)`,
  );
}

// The latest messages, oldest first; the id breaks ties in the same millisecond.
const latest = messages.query().orderBy('sentAt', 'desc').orderBy('id', 'desc').limit(HISTORY);

if (!command.follow) {
  for (const message of (await latest.get()).reverse()) console.log(line(message));
  console.log(`here: ${(await members.query().orderBy('id').get()).map(who).join(', ')}`);
  if (!reached) process.exitCode = 1;
  await client.dispose();
} else {
  console.log(`(following as ${command.name}; type to send, Ctrl-C to leave)`);
  // Each message is printed once, when it first shows up among the latest.
  const printed = new Set<string>();
  const stopWatching = latest.watch().subscribe((items) => {
    for (const message of [...items].reverse()) {
      if (printed.has(message.id)) continue;
      printed.add(message.id);
      console.log(line(message));
    }
  });
  // Statuses come with the periodic rounds: printed when they change.
  const statuses = new Map<string, string>();
  const stopMembers = members
    .query()
    .watch()
    .subscribe((items) => {
      for (const member of items) {
        const known = statuses.get(member.id);
        statuses.set(member.id, member.status);
        if (known === undefined || known === member.status) continue;
        console.log(`* ${member.id} is ${member.status || 'back'}`);
      }
    });
  const input = process.stdin.isTTY ? createInterface({ input: process.stdin }) : undefined;
  input?.on('line', (text) => {
    if (text.trim()) send(text.trim()).catch((error: unknown) => console.error(error));
  });
  let leaving = false;
  const leave = () => {
    // Closing the input below fires its close event again.
    if (leaving) return;
    leaving = true;
    stopWatching();
    stopMembers();
    input?.close();
    void client.dispose();
  };
  input?.on('close', leave);
  process.once('SIGINT', leave);
  process.once('SIGTERM', leave);
}

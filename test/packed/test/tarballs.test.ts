import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type PostgresInstance,
  postgresMissingFor,
  startPostgres,
} from '@local-first/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { describeExtending } from '../src/extending.js';
import { installedPackages, packPackages, run, scratchProject } from '../src/packages.js';
import { type StartedServer, startServer } from '../src/server-process.js';

/** What a server installs, and what a browser app installs: packed once for both. */
const SERVER = '@local-first/server';
const BROWSER_APP = [
  '@local-first/core',
  '@local-first/websocket',
  '@local-first/periodic',
  '@local-first/transport-ws',
  '@local-first/transport-socketio',
  '@local-first/storage-memory',
];
const PACKED = [
  ...BROWSER_APP,
  '@local-first/store-memory',
  '@local-first/store-sqlite',
  '@local-first/store-postgres',
  '@local-first/fanout-redis',
  '@local-first/contract',
  SERVER,
];
/** Server-side packages that a browser app must never install. */
const SERVER_ONLY = [
  SERVER,
  'ws',
  'socket.io',
  'jose',
  'pino',
  'prom-client',
  'better-sqlite3',
  'pg',
  '@local-first/store-sqlite',
  '@local-first/store-postgres',
  '@local-first/fanout-redis',
  'ioredis',
];
/** Building, packing and installing take a while on a small machine; none of it is timed. */
const SETUP_TIMEOUT_MS = 300_000;

const event = (eventId: string) => ({
  eventId,
  operation: 0,
  createdAt: '2025-01-23T10:00:00.000Z',
  dataId: eventId,
  data: { id: eventId, title: `from ${eventId}` },
});

async function pushOverRest(url: string, eventId: string): Promise<unknown> {
  const response = await fetch(`${url}/api/events/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event(eventId)),
  });
  const body: unknown = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function eventIdsOverRest(url: string): Promise<string[]> {
  const response = await fetch(`${url}/api/events/todos?afterSequence=0`);
  const page = (await response.json()) as { events: { eventId: string }[] };
  return page.events.map((stored) => stored.eventId);
}

let work: string;
let tarballs: Map<string, string>;
const servers: StartedServer[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lf-packed-'));
  tarballs = await packPackages(PACKED, join(work, 'tarballs'));
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('@local-first/server from its tarball, in a project outside the workspace', () => {
  let project: string;
  let bin: string;
  beforeAll(async () => {
    project = join(work, 'server-app');
    await scratchProject(project, [SERVER, '@local-first/core'], tarballs);
    bin = join(project, 'node_modules', '.bin', 'local-first-server');
  }, SETUP_TIMEOUT_MS);

  it('local-first-server --store sqlite:… serves, keeps what it acknowledged, and stops on SIGTERM', async () => {
    const args = ['--store', 'sqlite:./data/sync.db', '--port', '0'];
    const first = await startServer(bin, args, project);
    servers.push(first);
    expect(await (await fetch(`${first.url}/api/health`)).json()).toMatchObject({
      status: 'ok',
      store: 'sqlite',
    });
    await pushOverRest(first.url, 'kept');
    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toContain('local_first_events_appended_total 1');
    expect(await first.stop(), first.output.join('\n')).toBe(0);

    const second = await startServer(bin, args, project);
    servers.push(second);
    expect(await eventIdsOverRest(second.url)).toEqual(['kept']);
    expect(await second.stop()).toBe(0);
  });

  it('prints its usage, and a clear error for a store it cannot use', async () => {
    expect(await run(bin, ['--help'], { cwd: project })).toContain('Usage: local-first-server');
    const refused = await run(bin, ['--store', 'mysql://nowhere'], { cwd: project }).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(refused).toContain(
      '--store "mysql://nowhere" is not sqlite:PATH, postgres://… or memory',
    );
  });

  it('embeds: startSyncServer from the built package, in plain Node', async () => {
    const script = join(project, 'embed.mjs');
    await writeFile(
      script,
      [
        "import { silentLogger } from '@local-first/core';",
        "import { startSyncServer } from '@local-first/server';",
        'const server = await startSyncServer({',
        "  port: 0, host: '127.0.0.1', store: { kind: 'memory' }, auth: { kind: 'none' },",
        '  staticDir: undefined, logger: silentLogger,',
        '});',
        "const health = await (await fetch(server.url + '/api/health')).json();",
        'await server.close();',
        'console.log(JSON.stringify(health));',
        '',
      ].join('\n'),
    );
    // core is the server's peer: the app names it, as a user's app does.
    const output = await run(process.execPath, [script], { cwd: project });
    expect(JSON.parse(output)).toMatchObject({ status: 'ok', store: 'memory' });
  });

  const missing = postgresMissingFor('the packed server on PostgreSQL');
  describe.skipIf(missing !== undefined)('--store postgres://…', () => {
    let postgres: PostgresInstance;
    beforeAll(async () => {
      postgres = await startPostgres();
    }, SETUP_TIMEOUT_MS);
    afterAll(() => postgres?.stop());

    it('two nodes on one database: a write on one reaches a client of the other live', async () => {
      const store = postgres.database('postgres');
      const nodes: StartedServer[] = [];
      for (let index = 0; index < 2; index++) {
        const node = await startServer(bin, ['--store', store, '--port', '0'], project);
        servers.push(node);
        nodes.push(node);
      }
      const [a, b] = nodes as [StartedServer, StartedServer];
      const reader = new WebSocket(`${b.url.replace('http', 'ws')}/sync`);
      const received: { type: string; events?: { eventId: string }[] }[] = [];
      const live = new Promise<string[]>((resolve, reject) => {
        reader.on('error', reject);
        reader.on('open', () => {
          reader.send(JSON.stringify({ type: 'auth', token: 'anyone' }));
          reader.send(JSON.stringify({ type: 'request_events', repository: 'todos' }));
        });
        reader.on('message', (data) => {
          const message = JSON.parse(data.toString()) as (typeof received)[number];
          received.push(message);
          // The catch-up ends with sync_complete; then a write on node A comes as live events.
          if (message.type === 'sync_complete') void pushOverRest(a.url, 'across');
          if (message.type === 'events' && message.events?.some((e) => e.eventId === 'across'))
            resolve(message.events.map((e) => e.eventId));
        });
      });
      const deadline = new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new Error(
                `node B's client got no live event from node A; it received: ${received.map((m) => m.type).join(', ')}`,
              ),
            ),
          10_000,
        ),
      );
      expect(await Promise.race([live, deadline])).toEqual(['across']);
      reader.close();
      for (const node of nodes) expect(await node.stop(), node.output.join('\n')).toBe(0);
    });
  });
});

describe('a browser app that installs the client packages', () => {
  let project: string;
  beforeAll(async () => {
    project = join(work, 'browser-app');
    await scratchProject(project, BROWSER_APP, tarballs);
  }, SETUP_TIMEOUT_MS);

  it('installs no server, no socket library of a server and no database driver', () => {
    const installed = installedPackages(project);
    expect(SERVER_ONLY.filter((name) => installed.has(name))).toEqual([]);
    expect(installed.has('@local-first/websocket')).toBe(true);
  });

  it('loads the strategies and the transports from the built packages', async () => {
    const script = join(project, 'load.mjs');
    await writeFile(
      script,
      [
        "import { WebSocketSyncStrategy } from '@local-first/websocket';",
        "import { PeriodicSyncStrategy } from '@local-first/periodic';",
        "import { WsTransport } from '@local-first/transport-ws';",
        "import { SocketIoTransport } from '@local-first/transport-socketio';",
        'console.log([WebSocketSyncStrategy, PeriodicSyncStrategy, WsTransport, SocketIoTransport].map((c) => c.name).join(","));',
        '',
      ].join('\n'),
    );
    const output = await run(process.execPath, [script], { cwd: project });
    expect(output.trim()).toBe(
      'WebSocketSyncStrategy,PeriodicSyncStrategy,WsTransport,SocketIoTransport',
    );
  });
});

describeExtending(() => ({ work, tarballs }));

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@local-first/core';
import WebSocket from 'ws';
import type { ServerConfig } from '../src/config.js';
import { type RunningServer, type StartOptions, startSyncServer } from '../src/server.js';

export const TEST_TOKENS = { 'token-alice': 'alice', 'token-bob': 'bob', 'token-fuzz': 'fuzz' };

/** A server on a free loopback port with token auth, in a temp folder removed by `stop`. */
export async function startTestServer(overrides: Partial<StartOptions> = {}) {
  const directory = await mkdtemp(join(tmpdir(), 'lf-sync-server-'));
  const tokensFile = join(directory, 'tokens.json');
  await writeFile(tokensFile, JSON.stringify(TEST_TOKENS));
  const config: ServerConfig = {
    port: 0,
    host: '127.0.0.1',
    store: { kind: 'memory' },
    auth: { kind: 'tokens', file: tokensFile },
    staticDir: undefined,
  };
  const server: RunningServer = await startSyncServer({
    ...config,
    logger: silentLogger,
    ...overrides,
  });
  return {
    server,
    directory,
    wsUrl: `ws://127.0.0.1:${server.port}/sync`,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The server CLI as a process of its own, once it has logged that it listens. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** The JSON line it logged when it started listening. */
  started: Record<string, unknown>;
}

/** Starts `src/cli.ts` with these arguments (plus `--port 0`) and resolves once it listens. */
export async function startServerProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerProcess> {
  const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  // One process, no wrapper: a SIGKILL must hit the server itself.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@local-first/source', 'src/cli.ts', '--port', '0', ...args],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'], env },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry.url === 'string') {
      lines.close();
      child.stdout!.resume();
      return { child, port: Number(new URL(entry.url).port), started: entry };
    }
  }
  throw new Error(`the server (${args.join(' ')}) exited before listening`);
}

/** Kills a process with a signal and resolves once it has exited. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export type Message = { type: string } & Record<string, unknown>;

/** How long `RawClient.waitFor` waits before it fails, naming what did arrive. */
const WAIT_TIMEOUT_MS = 5_000;

/** A raw `ws` client speaking the protocol by hand, with awaitable message types. */
export class RawClient {
  readonly socket: WebSocket;
  readonly received: Message[] = [];
  /** Every message received, taken or not, for the report of a wait that fails. */
  private readonly history: Message[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters: {
    test: (message: Message) => boolean;
    resolve: (message: Message) => void;
  }[] = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      this.history.push(message);
      const waiter = this.waiters.find((candidate) => candidate.test(message));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      } else {
        this.received.push(message);
      }
    });
  }

  static async connect(url: string, token?: string): Promise<RawClient> {
    const client = new RawClient(url);
    await client.opened;
    if (token) {
      client.send({ type: 'auth', token });
      await client.next((message) => message.type === 'auth_success');
    }
    return client;
  }

  /** Sends a protocol object as JSON, or a raw text or binary frame as is. */
  send(message: object | string | Uint8Array): Promise<void> {
    const frame =
      typeof message === 'string' || message instanceof Uint8Array
        ? message
        : JSON.stringify(message);
    return new Promise((resolve, reject) =>
      this.socket.send(frame, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** The next message (already received or to come) that passes the test. */
  next(test: (message: Message) => boolean): Promise<Message> {
    const index = this.received.findIndex(test);
    if (index >= 0) return Promise.resolve(this.received.splice(index, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /**
   * The next message of this type, like `next`, but failing after a while with the messages
   * that did arrive; for tests that expect the message to come.
   */
  waitFor(type: string): Promise<Message> {
    return this.waitUntil((message) => message.type === type, `"${type}" message`);
  }

  /** The next message that passes the test, like `next`, but failing after a while like `waitFor`. */
  waitUntil(test: (message: Message) => boolean, what: string): Promise<Message> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const guard = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const seen = this.history.slice(-10).map((message) => JSON.stringify(message));
        reject(
          new Error(
            `no ${what} within ${WAIT_TIMEOUT_MS} ms; the last ones received: ${seen.join(', ') || 'none'}`,
          ),
        );
      }, WAIT_TIMEOUT_MS);
    });
    const arrival = this.next(test);
    return Promise.race([arrival, guard]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.socket.close(1000);
  }
}

/**
 * Child processes of the benchmark: the servers (ours through its real command line, the Yjs
 * peer's server through its package's connection handling, the raw relay) and the worker
 * processes that hold clients whose memory must be their own. Every child talks JSON over the
 * IPC channel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { residentMemory } from './proc.js';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
/** test/bench: workers run from here so `tsx` and the workspace packages resolve. */
export const BENCH_DIR = join(HERE, '..', '..');
const SERVER_DIR = dirname(require.resolve('@local-first/server/package.json'));
const GC_HOOK = pathToFileURL(join(HERE, 'gc-hook.mjs')).href;
const TS_FLAGS = ['--import', 'tsx', '--conditions=@local-first/source'];

/**
 * How our server starts: `BENCH_SERVER=dist` (what `pnpm bench` sets, after building) runs the
 * built command as users run it, in plain Node; otherwise the sources run through tsx, whose
 * transform gives every function a name property (a few KB more per connection, and slower).
 */
function serverEntry(): string[] {
  if (process.env.BENCH_SERVER !== 'dist') return [...TS_FLAGS, '--import', GC_HOOK, 'src/cli.ts'];
  const built = join(SERVER_DIR, 'dist', 'cli.js');
  if (!existsSync(built))
    throw new Error(`BENCH_SERVER=dist but ${built} is missing: run pnpm build first`);
  return ['--import', GC_HOOK, built];
}

/**
 * `BENCH_CPU_PROF=DIR` runs every child process with `--cpu-prof` and writes the profiles to
 * DIR (see profile-summary.ts to read them).
 */
function profileFlags(): string[] {
  const directory = process.env.BENCH_CPU_PROF;
  return directory ? ['--cpu-prof', `--cpu-prof-dir=${directory}`] : [];
}

/** A message over the IPC channel: a `type` and whatever else. */
export interface ChildMessage {
  type: string;
  [field: string]: unknown;
}

/** Memory as a server reports it after a forced collection. */
export interface CollectedMemory {
  collected: boolean;
  heapUsed: number;
  rss: number;
}

/** One child process with a queue of the messages it sent. */
export class Child {
  readonly process: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private readonly waiters: { type: string; resolve: (message: ChildMessage) => void }[] = [];
  private readonly errorLines: string[] = [];
  private readonly exited: Promise<number | null>;

  constructor(
    readonly label: string,
    args: readonly string[],
    options: { cwd: string; env?: NodeJS.ProcessEnv; readsOutput?: boolean },
  ) {
    this.process = spawn(process.execPath, [...profileFlags(), ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    if (process.env.BENCH_CPU_PROF)
      process.stderr.write(
        `${label}: pid ${this.process.pid} (its profile's name ends in that pid)\n`,
      );
    this.process.on('message', (message: ChildMessage) => this.deliver(message));
    createInterface({ input: this.process.stderr! }).on('line', (line) => {
      this.errorLines.push(line);
      if (this.errorLines.length > 40) this.errorLines.shift();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${label}] ${line}\n`);
    });
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
    // Output nobody reads must still flow, or a chatty child would block on a full pipe.
    if (!options.readsOutput) this.process.stdout!.resume();
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Standard output, line by line (servers log there). */
  lines(): AsyncIterable<string> {
    return createInterface({ input: this.process.stdout! });
  }

  send(message: ChildMessage): void {
    this.process.send(message);
  }

  /** The next message of this type (earlier ones that were not awaited wait in the inbox). */
  next<T extends ChildMessage>(type: string, timeoutMs = 300_000): Promise<T> {
    const index = this.inbox.findIndex((message) => message.type === type);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.label}: no "${type}" within ${timeoutMs} ms${this.tail()}`)),
        timeoutMs,
      );
      const waiter = {
        type,
        resolve: (message: ChildMessage) => {
          clearTimeout(timer);
          resolve(message as T);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.label} exited with ${code} before "${type}"${this.tail()}`));
      });
    });
  }

  private deliver(message: ChildMessage): void {
    if (message.type === 'error') {
      this.errorLines.push(String(message.message));
    }
    const index = this.waiters.findIndex((waiter) => waiter.type === message.type);
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(message);
    else this.inbox.push(message);
  }

  private tail(): string {
    return this.errorLines.length > 0 ? `\n${this.errorLines.join('\n')}` : '';
  }

  /** Asks the process to end (SIGTERM), and kills it if it is still there after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    this.process.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  /** Waits for the process to end by itself, at most `ms`. */
  async exit(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  memory(): { rss: number; hwm: number } {
    return residentMemory(this.pid);
  }

  /** A full collection in the child (servers started with the gc hook), then its memory usage. */
  async collect(): Promise<CollectedMemory> {
    this.send({ type: 'bench:gc' });
    const answer = await this.next<
      ChildMessage & { collected: boolean; usage: NodeJS.MemoryUsage }
    >('bench:memory', 30_000);
    return { collected: answer.collected, heapUsed: answer.usage.heapUsed, rss: answer.usage.rss };
  }
}

/** Our sync server: the local-first-server command, SQLite in a temporary folder. */
export class OurServer {
  private constructor(
    readonly child: Child,
    readonly origin: string,
    private readonly directory: string,
  ) {}

  get wsUrl(): string {
    return `${this.origin.replace(/^http/, 'ws')}/sync`;
  }

  /**
   * `store`: `sqlite` (the default, in a temporary folder), `memory`, or a `postgres://`
   * connection string (several servers on one database are nodes of one deployment).
   */
  static async start(
    store: 'sqlite' | 'memory' | `postgres://${string}` = 'sqlite',
    extraArgs: readonly string[] = [],
  ): Promise<OurServer> {
    const directory = await mkdtemp(join(tmpdir(), 'lf-bench-server-'));
    const child = new Child(
      'sync-server',
      [
        '--expose-gc',
        ...serverEntry(),
        '--port',
        '0',
        '--store',
        store === 'sqlite' ? `sqlite:${join(directory, 'events.db')}` : store,
        ...extraArgs,
      ],
      { cwd: SERVER_DIR, env: { LOG_LEVEL: 'info' }, readsOutput: true },
    );
    const origin = await untilLogged(child, (line) => {
      if (!line.startsWith('{')) return undefined;
      const entry = JSON.parse(line) as { url?: string };
      return entry.url;
    });
    return new OurServer(child, origin, directory);
  }

  async stop(): Promise<void> {
    await this.child.stop();
    await rm(this.directory, { recursive: true, force: true });
  }
}

/**
 * The Yjs peer's server: @y/websocket-server's connection handling (yjs-server.mjs), keeping
 * documents in memory.
 */
export class YjsServer {
  private constructor(
    readonly child: Child,
    readonly url: string,
  ) {}

  static async start(): Promise<YjsServer> {
    const child = new Child(
      'y-websocket-server',
      ['--expose-gc', '--import', GC_HOOK, join(HERE, 'yjs-server.mjs')],
      { cwd: BENCH_DIR },
    );
    const ready = await child.next<ChildMessage & { port: number }>('listening', 60_000);
    return new YjsServer(child, `ws://127.0.0.1:${ready.port}`);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

/** The baseline: a raw `ws` relay that forwards every frame to every other connection. */
export class RelayServer {
  private constructor(
    readonly child: Child,
    readonly url: string,
  ) {}

  static async start(): Promise<RelayServer> {
    const child = new Child('relay', [...TS_FLAGS, join(HERE, 'relay-server.ts')], {
      cwd: BENCH_DIR,
    });
    const ready = await child.next<ChildMessage & { port: number }>('listening', 60_000);
    return new RelayServer(child, `ws://127.0.0.1:${ready.port}`);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

/** Whether workers started with `built` load the built packages (see `startWorker`). */
export function workersLoadBuilt(): boolean {
  return process.env.BENCH_SERVER === 'dist';
}

/**
 * A worker process of this benchmark (see worker.ts) playing one role. With `built` and
 * `BENCH_SERVER=dist` (after `pnpm build`), the workspace packages it uses are their built
 * files, as an app gets them; otherwise their sources through tsx, whose transform names every
 * function it creates (`__name`), a cost in code that makes closures on its hot path.
 */
export function startWorker(
  role: string,
  parameters: object,
  options: { built?: boolean } = {},
): Child {
  const flags = options.built && workersLoadBuilt() ? ['--import', 'tsx'] : TS_FLAGS;
  return new Child(
    `worker:${role}`,
    ['--expose-gc', ...flags, join(HERE, 'worker.ts'), role, JSON.stringify(parameters)],
    { cwd: BENCH_DIR },
  );
}

async function untilLogged(
  child: Child,
  pick: (line: string) => string | undefined,
): Promise<string> {
  const exited = new Promise<never>((_, reject) =>
    child.process.once('exit', (code) =>
      reject(new Error(`${child.label} exited with ${code} before it was listening`)),
    ),
  );
  const found = (async () => {
    for await (const line of child.lines()) {
      const value = pick(line);
      if (value !== undefined) return value;
    }
    throw new Error(`${child.label} closed its output before it was listening`);
  })();
  const value = await Promise.race([found, exited]);
  // Keep draining the output so the child never blocks on a full pipe.
  child.process.stdout!.resume();
  return value;
}

/** Asks a worker to close its connections and end; kills it if it does not. */
export async function closeWorker(worker: Child): Promise<void> {
  if (worker.process.connected) {
    worker.send({ type: 'close' });
    await worker.next('closed', 30_000).catch(() => undefined);
    await worker.exit(10_000);
  }
  await worker.stop();
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const SERVER_DIR = dirname(require.resolve('@local-first/server/package.json'));

export const MATRIX_TOKENS = { 'matrix-token-1': 'alice', 'matrix-token-2': 'bob' } as const;

export type StoreKind = 'memory' | 'sqlite' | 'postgres';

export interface ServerProcessOptions {
  store: StoreKind;
  /** For `postgres`: the database to use. */
  connectionString?: string;
  maxPageEvents: number;
  /** `--fanout`: how nodes over one database hear of each other (default: the store's). */
  fanout?: string;
}

/**
 * The real sync server (the local-first-server command) in a child process, with token auth, on a
 * free port that it keeps across restarts.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private directory = '';
  port = 0;

  constructor(private readonly options: ServerProcessOptions) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The SQLite file of a `sqlite` server (with its `-wal` and `-shm` beside it). */
  get databaseFile(): string {
    if (!this.directory) throw new Error('start the server first');
    return join(this.directory, 'events.db');
  }

  async start(): Promise<void> {
    if (!this.directory) {
      this.directory = await mkdtemp(join(tmpdir(), 'lf-matrix-'));
      await writeFile(join(this.directory, 'tokens.json'), JSON.stringify(MATRIX_TOKENS));
    }
    const store =
      this.options.store === 'sqlite'
        ? `sqlite:${join(this.directory, 'events.db')}`
        : this.options.store === 'postgres'
          ? this.options.connectionString!
          : 'memory';
    const child = spawn(
      process.execPath,
      [
        // One process, no wrapper, so signals reach the server itself.
        '--import',
        'tsx',
        '--conditions=@local-first/source',
        'src/cli.ts',
        '--port',
        String(this.port),
        '--store',
        store,
        '--auth',
        `tokens:${join(this.directory, 'tokens.json')}`,
        '--max-page',
        String(this.options.maxPageEvents),
        ...(this.options.fanout ? ['--fanout', this.options.fanout] : []),
      ],
      {
        cwd: SERVER_DIR,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.child = child;
    // Logs are JSON lines; the one that carries `url` says the server is listening.
    const lines = createInterface({ input: child.stdout! });
    let started = false;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => {
        if (!started) reject(new Error(`the sync server exited with ${code} before listening`));
      }),
    );
    const listening = (async () => {
      for await (const line of lines) {
        const entry = JSON.parse(line) as { url?: string; level?: number; msg?: string };
        if (entry.url) return Number(new URL(entry.url).port);
      }
      throw new Error('the sync server closed its output before listening');
    })();
    this.port = await Promise.race([listening, exited]);
    started = true;
    lines.close();
    child.stdout!.resume();
  }

  /** Graceful stop (SIGTERM): in-flight commits finish, sockets close with 1001. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** SIGKILL: the process dies at once, as a crashed machine's would; the port stays reserved. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    if (this.directory) await rm(this.directory, { recursive: true, force: true });
  }
}

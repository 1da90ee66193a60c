import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { OutputTail } from './output.js';

const require = createRequire(import.meta.url);
const SERVER_DIR = dirname(require.resolve('@local-first/server/package.json'));
/** Below Linux's ephemeral range (32768+), so no outgoing socket takes the port while the server is down. */
const PORT_RANGE = [20_000, 32_000] as const;
const STOP_TIMEOUT_MS = 10_000;

/** A port nothing listens on now, outside the range the kernel hands to outgoing sockets. */
async function quietPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = PORT_RANGE[0] + Math.floor(Math.random() * (PORT_RANGE[1] - PORT_RANGE[0]));
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.join('-')} after 50 tries`);
}

export interface ChaosServerOptions {
  /** Folder for the SQLite file and the tokens file; kept across restarts. */
  directory: string;
  /** Token → user id, as the server's `tokens:FILE` auth reads them. */
  tokens: Record<string, string>;
  maxPageEvents: number;
  maxBatchEvents: number;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs: number;
}

/** An exit of the server that no kill of ours explains. */
export interface UnexpectedExit {
  incarnation: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

/**
 * The real sync server (the local-first-server command) on a SQLite file, killed with SIGKILL and
 * started again on the same port and file. The first start picks a free port; later starts
 * take that one.
 */
export class ChaosServer {
  private child: ChildProcess | undefined;
  private expectingExit = false;
  private disposed = false;
  private incarnation = 0;
  private output = new OutputTail();
  port = 0;
  kills = 0;
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Called when the server exits by itself; the run restarts it. */
  onUnexpectedExit: ((exit: UnexpectedExit) => void) | undefined;

  constructor(private readonly options: ChaosServerOptions) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get database(): string {
    return join(this.options.directory, 'events.db');
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.killed;
  }

  /** Starts the server and resolves once its log says it listens. */
  async start(): Promise<void> {
    if (this.disposed) throw new Error('the sync server was disposed');
    const tokensFile = join(this.options.directory, 'tokens.json');
    if (this.incarnation === 0) {
      await writeFile(tokensFile, JSON.stringify(this.options.tokens));
      this.port = await quietPort();
      if (this.disposed) throw new Error('the sync server was disposed');
    }
    const incarnation = ++this.incarnation;
    const output = new OutputTail();
    this.output = output;
    this.expectingExit = false;
    const child = spawn(
      process.execPath,
      [
        // One process, no wrapper, so SIGKILL hits the server itself.
        '--import',
        'tsx',
        '--conditions=@local-first/source',
        'src/cli.ts',
        '--port',
        String(this.port),
        '--store',
        `sqlite:${this.database}`,
        '--auth',
        `tokens:${tokensFile}`,
        '--max-page',
        String(this.options.maxPageEvents),
        '--max-batch',
        String(this.options.maxBatchEvents),
      ],
      { cwd: SERVER_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stderr!.on('data', (chunk: Buffer) => output.stderr(chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    void exited.then(({ code, signal }) => {
      if (this.expectingExit || this.child !== child) return;
      const exit = {
        incarnation,
        code,
        signal,
        stderr: output.stderrText(),
        stdout: output.stdoutText(),
      };
      this.unexpectedExits.push(exit);
      this.onUnexpectedExit?.(exit);
    });
    const lines = createInterface({ input: child.stdout! });
    const listening = new Promise<number>((resolve) => {
      lines.on('line', (line) => {
        output.line(line);
        // Logs are JSON lines; the one that carries `url` says the server is listening.
        try {
          const entry = JSON.parse(line) as { url?: string };
          if (entry.url) resolve(Number(new URL(entry.url).port));
        } catch {
          // Not a log line: kept in the tail for the report, nothing to act on.
        }
      });
    });
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      deadline = setTimeout(
        () =>
          reject(
            new Error(
              `sync server start ${incarnation} did not log its URL within ` +
                `${this.options.startTimeoutMs} ms\n${output.describe()}`,
            ),
          ),
        this.options.startTimeoutMs,
      );
    });
    try {
      this.port = await Promise.race([
        listening,
        tooLong,
        exited.then(({ code, signal }) => {
          throw new Error(
            `sync server start ${incarnation} exited (${code ?? signal}) before listening\n` +
              output.describe(),
          );
        }),
      ]);
    } finally {
      clearTimeout(deadline);
    }
  }

  /** SIGKILL, and resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.expectingExit = true;
    this.kills++;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /**
   * Graceful stop (SIGTERM): in-flight commits finish first. Resolves with a problem when the
   * server needed a SIGKILL after all.
   */
  async stop(): Promise<string | undefined> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
    this.expectingExit = true;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      exited,
      new Promise<'late'>((resolve) => {
        deadline = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(deadline);
    if (code === 'late') {
      child.kill('SIGKILL');
      await exited;
      return `the sync server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${this.output.describe()}`;
    }
    return code === 0
      ? undefined
      : `the sync server exited with ${code} after SIGTERM\n${this.output.describe()}`;
  }

  /** Kills the server for good: later starts fail. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.kill();
  }

  /** The end of the current incarnation's output, for failure messages. */
  describe(): string {
    return `sync server (incarnation ${this.incarnation}, ${this.kills} kills):\n${this.output.describe()}`;
  }
}

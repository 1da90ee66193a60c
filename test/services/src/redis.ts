import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's `redis-server` package puts the server. */
export const DEBIAN_REDIS_SERVER = '/usr/bin/redis-server';
/** Names a `redis-server` binary to use instead of Debian's. */
export const REDIS_SERVER_ENV = 'LOCAL_FIRST_REDIS_SERVER';
/** How long a server may take to say it accepts connections. */
const START_TIMEOUT_MS = 30_000;
/** How long a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** The line redis-server logs once it listens. */
const READY_LINE = 'Ready to accept connections';
/** How much of the server's output an error message carries. */
const OUTPUT_LINES = 20;

/** A private Redis server on 127.0.0.1, without a password, persistence or a config file. */
export interface RedisInstance {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The server's process id (to stop or continue it with signals). */
  pid: number;
  /** Stops the server and deletes its folder; repeating it does nothing. */
  stop(): Promise<void>;
}

/** Options of `startRedis`. */
export interface StartRedisOptions {
  /** The port to listen on, to start a server again where a stopped one was. Default: a free one. */
  port?: number;
}

function serverBinary(): string {
  return process.env[REDIS_SERVER_ENV] || DEBIAN_REDIS_SERVER;
}

/** Why `startRedis()` cannot work on this machine, or `undefined` when it can. */
export function redisUnavailableReason(): string | undefined {
  const binary = serverBinary();
  if (existsSync(binary)) return undefined;
  return process.env[REDIS_SERVER_ENV]
    ? `${REDIS_SERVER_ENV}=${binary} does not exist`
    : `no Redis server (${DEBIAN_REDIS_SERVER} is missing; apt-get install -y redis-server)`;
}

let warned = false;

/**
 * For a test file that needs Redis: the reason it cannot run here, printed once as one line so
 * a skipped suite is never mistaken for a passing one; `undefined` when it can run.
 */
export function redisMissingFor(what: string): string | undefined {
  const missing = redisUnavailableReason();
  if (missing && !warned) {
    warned = true;
    console.warn(`SKIPPED: ${what} did not run: ${missing}`);
  }
  return missing;
}

/**
 * Starts a private `redis-server` as a child process: on 127.0.0.1 and a free port (or the one
 * given), with no snapshots and no append-only file, its working folder a new temporary one.
 * Resolves once the server logs that it accepts connections; fails with the end of its output
 * when it exits first or is not ready within 30 s. The server is also killed if the process
 * exits without calling `stop()`.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisInstance> {
  const missing = redisUnavailableReason();
  if (missing) throw new Error(`cannot start Redis: ${missing}`);
  const port = options.port ?? (await freePort());
  const folder = mkdtempSync(join(tmpdir(), 'local-first-redis-'));
  const child = spawn(
    serverBinary(),
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      folder,
      '--daemonize',
      'no',
      '--logfile',
      '',
    ],
    { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const killNow = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killNow);
    child.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  };
  process.on('exit', killNow);

  try {
    await ready(child, output);
  } catch (error) {
    killNow();
    const tail = output.join('').split('\n').slice(-OUTPUT_LINES).join('\n');
    throw new Error(`Redis did not start: ${(error as Error).message}\n${tail}`, { cause: error });
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.off('exit', killNow);
      if (child.exitCode === null && child.signalCode === null) {
        // A stopped server (SIGSTOP) would never see SIGTERM otherwise.
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Resolves once the server logs its ready line; rejects when it exits or errs first. */
function ready(child: ChildProcess, output: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => settle(new Error(`not ready within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    // Read on after the ready line too (and drop it): a full pipe would block the server.
    const hear = (chunk: Buffer) => {
      if (settled) return;
      output.push(chunk.toString('utf8'));
      if (output.join('').includes(READY_LINE)) settle();
    };
    child.stdout?.on('data', hear);
    child.stderr?.on('data', hear);
    child.once('error', (error) => settle(error));
    child.once('exit', (code, signal) =>
      settle(new Error(`redis-server exited (${signal ?? `code ${code}`}) before it was ready`)),
    );
  });
}

/** A port that was free a moment ago (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port was assigned'));
      });
    });
  });
}

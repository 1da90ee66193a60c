import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's `postgresql` package puts one folder per major version. */
export const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';
/** Names a folder with `initdb` and `pg_ctl` to use instead of the newest Debian version. */
export const POSTGRES_BIN_ENV = 'LOCAL_FIRST_POSTGRES_BIN';
/** The user that runs the server when the tests run as root (PostgreSQL refuses root). */
export const POSTGRES_OS_USER = 'postgres';
const START_TIMEOUT_S = 60;

/** A private PostgreSQL server, reachable as the superuser `postgres` without a password. */
export interface PostgresInstance {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  connectionString: string;
  port: number;
  /** PostgreSQL's major version, from the folder of its binaries. */
  version: string;
  /** Connection string of another database on the same server. */
  database(name: string): string;
  /** Stops the server and deletes its folder; repeating it does nothing. */
  stop(): Promise<void>;
}

interface Binaries {
  bin: string;
  version: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

function findBinaries(): Binaries | string {
  const override = process.env[POSTGRES_BIN_ENV];
  if (override) {
    return hasTools(override)
      ? { bin: override, version: 'custom' }
      : `${POSTGRES_BIN_ENV}=${override} has no initdb and pg_ctl`;
  }
  if (!existsSync(DEBIAN_POSTGRES_ROOT)) {
    return `no PostgreSQL server binaries (${DEBIAN_POSTGRES_ROOT} is missing; apt-get install -y postgresql)`;
  }
  const versions = readdirSync(DEBIAN_POSTGRES_ROOT)
    .filter((version) => hasTools(join(DEBIAN_POSTGRES_ROOT, version, 'bin')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  const newest = versions[0];
  if (newest === undefined) {
    return `no initdb/pg_ctl under ${DEBIAN_POSTGRES_ROOT}/*/bin (apt-get install -y postgresql)`;
  }
  return { bin: join(DEBIAN_POSTGRES_ROOT, newest, 'bin'), version: newest };
}

function hasTools(bin: string): boolean {
  return existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'));
}

/** The account to run PostgreSQL as: none when we are not root, `postgres` when we are. */
function findRunAs(): RunAs | undefined | string {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const entry = execFileSync('getent', ['passwd', POSTGRES_OS_USER], { encoding: 'utf8' });
    const [, , uid, gid] = entry.trim().split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return `running as root, and there is no "${POSTGRES_OS_USER}" user to run PostgreSQL as`;
  }
}

/** Why `startPostgres()` cannot work on this machine, or `undefined` when it can. */
export function postgresUnavailableReason(): string | undefined {
  const binaries = findBinaries();
  if (typeof binaries === 'string') return binaries;
  const runAs = findRunAs();
  return typeof runAs === 'string' ? runAs : undefined;
}

/** True when `startPostgres()` can work here. */
/**
 * For a test file that needs PostgreSQL: the reason it cannot run here, announced loudly so a
 * skipped suite is never mistaken for a passing one; `undefined` when it can run.
 */
export function postgresMissingFor(what: string): string | undefined {
  const missing = postgresUnavailableReason();
  if (missing) {
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n  SKIPPED: ${what} did not run: ${missing}\n${bar}\n`);
  }
  return missing;
}

export function postgresAvailable(): boolean {
  return postgresUnavailableReason() === undefined;
}

/**
 * Starts a private PostgreSQL: a fresh cluster in a temporary folder (`initdb`), on a free port
 * of 127.0.0.1 with its socket in that folder, started with `pg_ctl -w`. As root, both run as
 * the `postgres` user, which owns the folder. `fsync` is off: these servers hold test data only.
 * The server is also stopped if the process exits without calling `stop()`.
 */
export async function startPostgres(): Promise<PostgresInstance> {
  const binaries = findBinaries();
  const runAs = findRunAs();
  if (typeof binaries === 'string') throw new Error(`cannot start PostgreSQL: ${binaries}`);
  if (typeof runAs === 'string') throw new Error(`cannot start PostgreSQL: ${runAs}`);
  const folder = mkdtempSync(join(tmpdir(), 'local-first-postgres-'));
  const data = join(folder, 'data');
  const log = join(folder, 'server.log');
  if (runAs) chownSync(folder, runAs.uid, runAs.gid);
  const tool = (name: string, args: string[]) =>
    run(join(binaries.bin, name), args, { cwd: folder, ...runAs });

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopNow);
    try {
      execFileSync(join(binaries.bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], {
        cwd: folder,
        stdio: 'ignore',
        ...runAs,
      });
    } catch {
      // Not running (any more): nothing to stop.
    }
    rmSync(folder, { recursive: true, force: true });
  };
  process.on('exit', stopNow);

  try {
    await tool('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const port = await freePort();
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${folder}'`,
        'fsync = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );
    await tool('pg_ctl', ['-D', data, '-l', log, '-w', '-t', String(START_TIMEOUT_S), 'start']);
    const database = (name: string) =>
      `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    return {
      connectionString: database('postgres'),
      port,
      version: binaries.version,
      database,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        process.off('exit', stopNow);
        try {
          await tool('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    const serverLog = existsSync(log) ? `\n${readLog(log)}` : '';
    stopNow();
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}${serverLog}`, {
      cause: error,
    });
  }
}

/** The end of the server's log, for the error message. */
function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

function run(
  file: string,
  args: string[],
  options: { cwd: string; uid?: number; gid?: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { ...options, env: { ...process.env, LC_ALL: 'C' } },
      (error, _out, err) => {
        if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${err || error.message}`));
        else resolve();
      },
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

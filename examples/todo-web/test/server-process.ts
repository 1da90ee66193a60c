import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The program `pnpm start` runs: the sync-server example, which embeds @local-first/server. */
function serverEntry(): { directory: string; main: string } {
  const manifestPath = createRequire(import.meta.url).resolve(
    '@local-first/example-sync-server/package.json',
  );
  const directory = dirname(manifestPath);
  return { directory, main: join(directory, 'src/main.ts') };
}

/** Asked of a SIGTERM: a graceful stop takes well under this; past it the test is broken anyway. */
const STOP_DEADLINE_MS = 15_000;

export interface ServerProcessOptions {
  /** 0 picks a free port; a restart passes the port of the server it replaces. */
  port: number;
  store: string;
  staticDir: string;
  /** More options of the command (`--auth`, `--rules` …). */
  args?: readonly string[];
}

/** The sync server in a process of its own, as `pnpm start` runs it, so a test can stop it. */
export interface ServerProcess {
  url: string;
  port: number;
  /** SIGTERM, then resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts the server and resolves once its start-up log line (JSON, with `url`) is out. */
export function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { directory, main } = serverEntry();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@local-first/source',
      main,
      '--port',
      String(options.port),
      '--store',
      options.store,
      '--static',
      options.staticDir,
      ...(options.args ?? []),
    ],
    { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });

  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output += `${line}\n`;
      const url = startUrl(line);
      if (!url) return;
      resolve({ url, port: Number(new URL(url).port), stop: () => stop(child, exited) });
    });
    void exited.then((how) =>
      reject(new Error(`the sync server exited (${how}) before listening:\n${output}`)),
    );
  });
}

function startUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { url?: unknown; app?: unknown };
    return typeof entry.url === 'string' && typeof entry.app === 'string' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

async function stop(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const deadline = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
  await exited;
  clearTimeout(deadline);
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How long a server process may take to log that it listens; past it, the test fails with its output. */
const START_DEADLINE_MS = 30_000;

/** A `local-first-server` started from a scratch project's `node_modules/.bin`. */
export interface StartedServer {
  child: ChildProcess;
  url: string;
  /** Every line it printed so far, for a failure's report. */
  output: string[];
  /** SIGTERM; resolves with its exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** Spawns the command and resolves once it logs its `listening` line (JSON with `url`). */
export function startServer(
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<StartedServer> {
  const child = spawn(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: ${why}; its output:\n${output.join('\n')}`));
    };
    const timer = setTimeout(
      () => fail(`no listening line within ${START_DEADLINE_MS} ms`),
      START_DEADLINE_MS,
    );
    void exited.then((code) => fail(`exited with ${code} before listening`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.startsWith('{')) return;
      const logged = JSON.parse(line) as { url?: string; msg?: string };
      if (typeof logged.url === 'string' && logged.msg?.includes('listening')) {
        clearTimeout(timer);
        resolve({ child, url: logged.url, output, stop });
      }
    });
  });
}

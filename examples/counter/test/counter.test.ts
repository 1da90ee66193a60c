import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@local-first/core';
import { type RunningServer, startSyncServer } from '@local-first/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  code: number | null;
  output: string;
}

/** Runs the example as its own process, as `pnpm example:counter` does. */
function counter(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@local-first/source', 'src/counter.ts', ...args],
      { cwd: packageDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the counter example', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let work: string;
  let env: Record<string, string>;
  const device = (name: string) => ['--data', join(work, `${name}.sqlite`)];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-counter-'));
    server = await startSyncServer({
      port: 0,
      host: '127.0.0.1',
      store: { kind: 'memory' },
      auth: { kind: 'none' },
      staticDir: undefined,
      logger: silentLogger,
    });
    env = { SYNC_URL: server.url };
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('adds up the counts of every device', async () => {
    expect(await counter(['increment', ...device('a')], env)).toEqual({
      code: 0,
      output: 'counter: 1\n  this device: 1, devices that counted: 1\n',
    });
    // pnpm hands on the `--` of `pnpm example:counter -- increment 2`.
    const second = await counter(['--', 'increment', '2', ...device('b')], env);
    expect(second.output).toContain('counter: 3\n  this device: 2, devices that counted: 2');
    const third = await counter(['decrement', ...device('a')], env);
    expect(third.output).toContain('counter: 2\n  this device: 0, devices that counted: 2');
    // A device that never counted still sees the total, after catching up.
    expect((await counter(device('c'), env)).output).toContain('counter: 2\n');
  });

  it('never loses increments made at the same time on different devices', async () => {
    const before = await counter(device('d'), env);
    const total = Number(/counter: (-?\d+)/.exec(before.output)?.[1]);
    const runs = await Promise.all(
      ['d', 'e', 'f', 'g'].map((name) => counter(['increment', ...device(name)], env)),
    );
    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0]);
    expect((await counter(device('d'), env)).output).toContain(`counter: ${total + 4}\n`);
  });

  it('keeps an increment made while the server is away and sends it on the next run', async () => {
    const before = Number(/counter: (-?\d+)/.exec((await counter(device('h'), env)).output)?.[1]);
    // A server that hangs up on every connection: the example cannot sync, whatever it tries.
    const away = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => away.listen(0, '127.0.0.1', resolve));
    const { port } = away.address() as AddressInfo;
    const offline = await counter(['increment', '5', ...device('h')], {
      SYNC_URL: `http://127.0.0.1:${port}`,
      SYNC_DEADLINE_MS: '500',
    }).finally(() => away.close());
    expect(offline.code).toBe(1);
    expect(offline.output).toContain('not synced');
    expect(offline.output).toContain(`counter: ${before + 5}\n`);

    expect((await counter(device('h'), env)).code).toBe(0);
    expect((await counter(device('i'), env)).output).toContain(`counter: ${before + 5}\n`);
  });

  it('explains itself when the command is not understood', async () => {
    const run = await counter(['multiply'], env);
    expect(run.code).toBe(2);
    expect(run.output).toContain('Usage: pnpm example:counter');
  });
});

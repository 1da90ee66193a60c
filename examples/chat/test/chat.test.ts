import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@local-first/core';
import { type RunningServer, startSyncServer } from '@local-first/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The example as its own process, as `pnpm example:chat` starts it, with its output so far. */
class Chat {
  readonly child: ChildProcessByStdio<null, Readable, null>;
  readonly exited: Promise<number | null>;
  output = '';
  private readonly waiters: { text: string; resolve: () => void }[] = [];

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@local-first/source', 'src/chat.ts', ...args],
      { cwd: packageDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.exited = new Promise((resolve) => this.child.once('close', resolve));
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const waiter of [...this.waiters]) {
        if (!this.output.includes(waiter.text)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  /** Resolves once the output contains `text`. */
  printed(text: string): Promise<void> {
    if (this.output.includes(text)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, resolve }));
  }
}

describe('the chat example', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let work: string;
  let env: Record<string, string>;
  const as = (name: string) => ['--name', name, '--data', join(work, `${name}.sqlite`)];
  const run = async (args: string[]) => {
    const chat = new Chat(args, env);
    return { code: await chat.exited, output: chat.output };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-chat-'));
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

  it('sends a message, syncs, prints the history and exits', async () => {
    // pnpm hands on the `--` of `pnpm example:chat -- --name alice hello`.
    const alice = await run(['--', ...as('alice'), 'hello', 'everyone']);
    expect(alice.code).toBe(0);
    expect(alice.output).toMatch(/^\[\d\d:\d\d\] alice: hello everyone\n$/);

    const bob = await run([...as('bob'), 'hi alice']);
    expect(bob.code).toBe(0);
    expect(bob.output.split('\n').map((line) => line.slice(8))).toEqual([
      'alice: hello everyone',
      'bob: hi alice',
      '',
    ]);
  });

  it('follows the room live until stopped', async () => {
    const carol = new Chat([...as('carol'), '--follow'], env);
    await carol.printed('(following as carol');
    await carol.printed('bob: hi alice');

    expect((await run([...as('alice'), 'are you there, carol?'])).code).toBe(0);
    await carol.printed('alice: are you there, carol?');

    carol.child.kill('SIGTERM');
    expect(await carol.exited).toBe(0);
  });

  it('explains itself without a name', async () => {
    const nameless = await run(['hello']);
    expect(nameless.code).toBe(2);
    expect(nameless.output).toContain('Usage: pnpm example:chat');
  });
});

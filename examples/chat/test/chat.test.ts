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

  /** Resolves once the output contains `text`; fails after 20 s with the output so far. */
  printed(text: string): Promise<void> {
    if (this.output.includes(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${text}" within 20 s; the output so far:\n${this.output}`)),
        20_000,
      );
      this.waiters.push({
        text,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
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
    env = { SYNC_URL: server.url, SETTINGS_INTERVAL_MS: '100' };
  });

  afterAll(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('sends a message, syncs, prints the history and exits', async () => {
    // pnpm hands on the `--` of `pnpm example:chat -- --name alice hello`.
    const alice = await run(['--', ...as('alice'), 'hello', 'everyone']);
    expect(alice.code).toBe(0);
    expect(alice.output).toMatch(/^\[\d\d:\d\d\] alice: hello everyone\nhere: alice\n$/);

    const bob = await run([...as('bob'), 'hi alice', '--status', 'in a meeting']);
    expect(bob.code).toBe(0);
    const [first, second, ...rest] = bob.output.split('\n');
    expect([first, second].map((line) => line?.slice(8))).toEqual([
      'alice: hello everyone',
      'bob: hi alice',
    ]);
    // The statuses went over the periodic strategy, the messages over the socket.
    expect(rest).toEqual(['here: alice, bob (in a meeting)', '']);
  });

  it('follows the room live until stopped', async () => {
    const carol = new Chat([...as('carol'), '--follow'], env);
    await carol.printed('(following as carol');
    await carol.printed('bob: hi alice');

    expect((await run([...as('alice'), 'are you there, carol?'])).code).toBe(0);
    await carol.printed('alice: are you there, carol?');
    // A status comes with the next periodic round of each side.
    expect((await run([...as('bob'), '--status', ''])).code).toBe(0);
    await carol.printed('* bob is back');
    expect((await run([...as('alice'), '--status', 'away'])).code).toBe(0);
    await carol.printed('* alice is away');

    carol.child.kill('SIGTERM');
    expect(await carol.exited).toBe(0);
  });

  it('explains itself without a name', async () => {
    const nameless = await run(['hello']);
    expect(nameless.code).toBe(2);
    expect(nameless.output).toContain('Usage: pnpm example:chat');
  });
});

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@local-first/core';
import { startSyncServer } from '@local-first/server';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const root = join(packageDir, '..', '..');

/** Runs an example as its own process, as a user would, and resolves with what it printed. */
function runExample(file: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@local-first/source', file],
      {
        cwd: packageDir,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${file} exited with ${code}:\n${output}`)),
    );
  });
}

describe('quickstart examples', () => {
  it('the plain-constructor example writes, watches and queries', async () => {
    const output = await runExample('src/plain.ts');
    expect(output).toContain("open todos: [ 'Buy milk', 'Call Ada' ]");
    expect(output).toContain("done: [ { id: '1', title: 'Buy milk', done: true } ]");
    expect(output).toContain('waiting to sync: 4 events');
    expect(output.trimEnd().split('\n').at(-3)).toBe('open todos: []');
  });

  it('the DI example resolves the client from a container', async () => {
    const output = await runExample('src/di.ts');
    expect(output).toContain("notes: [ { id: 'n1', text: 'Resolved from the container' } ]");
    expect(output).toContain('storage adapter: memory');
  });

  it('the sync example moves a todo from one device to another through a running server', async () => {
    const server = await startSyncServer({
      port: 0,
      host: '127.0.0.1',
      store: { kind: 'memory' },
      auth: { kind: 'none' },
      staticDir: undefined,
      logger: silentLogger,
    });
    try {
      const output = await runExample('src/sync.ts', {
        SYNC_URL: `ws://127.0.0.1:${server.port}/sync`,
      });
      expect(output).toContain('laptop: connected');
      expect(output).toContain("title: 'Written on the laptop'");
    } finally {
      await server.close();
    }
  });

  it('the README shows exactly the code of every example', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- example:(\S+) -->\n```ts\n([\s\S]*?)```/g)];
    expect(blocks.map((block) => block[1])).toEqual([
      'examples/quickstart/src/plain.ts',
      'examples/quickstart/src/di.ts',
      'examples/quickstart/src/sync.ts',
    ]);
    for (const [, file, code] of blocks) {
      expect(code).toBe(await readFile(join(root, file!), 'utf8'));
    }
  });
});

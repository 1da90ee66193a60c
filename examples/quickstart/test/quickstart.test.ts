import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const root = join(packageDir, '..', '..');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

async function runExample(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [tsxCli, '--conditions=@local-first/source', file], {
    cwd: packageDir,
  });
  return stdout;
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

  it('the README shows exactly the code of both examples', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- example:(\S+) -->\n```ts\n([\s\S]*?)```/g)];
    expect(blocks.map((block) => block[1])).toEqual([
      'examples/quickstart/src/plain.ts',
      'examples/quickstart/src/di.ts',
    ]);
    for (const [, file, code] of blocks) {
      expect(code).toBe(await readFile(join(root, file!), 'utf8'));
    }
  });
});

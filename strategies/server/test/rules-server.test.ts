import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event } from './engine-fixtures.js';
import { RawClient, startServerProcess, startTestServer, stopProcess } from './helpers.js';

const RULES = {
  repositories: [
    { repository: 'todos', private: true },
    {
      repository: 'projects/{projectId}',
      write: { claim: 'projects', includes: '{projectId}' },
    },
    { repository: 'announcements', read: 'anyone' },
  ],
};

const TOKENS = {
  'token-alice': { userId: 'alice', claims: { projects: ['p1'] } },
  'token-bob': 'bob',
};

let directory: string;
let rulesFile: string;
let tokensFile: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'lf-rules-server-'));
  rulesFile = join(directory, 'rules.json');
  tokensFile = join(directory, 'tokens.json');
  await writeFile(rulesFile, JSON.stringify(RULES, null, 2));
  await writeFile(tokensFile, JSON.stringify(TOKENS));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs the CLI to its exit; resolves with its exit code and what it wrote to stderr. */
function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@local-first/source', 'src/cli.ts', '--port', '0', ...args],
    { cwd: packageDir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('rules in the server', () => {
  it('applies them to REST reads and writes, under the client names', async () => {
    const running = await startTestServer({
      rules: rulesFile,
      auth: { kind: 'tokens', file: tokensFile },
    });
    const url = running.server.url;
    const call = (token: string, method: string, repository: string, body?: unknown) =>
      fetch(`${url}/api/events/${encodeURIComponent(repository)}${body ? '/batch' : ''}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    try {
      const mine = await call('token-alice', 'POST', 'todos', { events: [event('a1')] });
      expect(mine.status).toBe(201);
      expect(await mine.json()).toMatchObject({ repositories: { todos: ['a1'] } });
      expect((await call('token-bob', 'POST', 'todos', { events: [event('b1')] })).status).toBe(
        201,
      );
      const read = async (token: string, repository: string) => {
        const response = await call(token, 'GET', repository);
        return {
          status: response.status,
          body: (await response.json()) as Record<string, unknown>,
        };
      };
      const alice = await read('token-alice', 'todos');
      expect(alice.body).toMatchObject({ repository: 'todos', events: [{ eventId: 'a1' }] });
      expect((await read('token-bob', 'todos')).body.events).toMatchObject([{ eventId: 'b1' }]);
      expect(await read('token-bob', '~alice/todos')).toMatchObject({
        status: 403,
        body: { code: 'forbidden', message: expect.stringContaining('reserved') },
      });
      const refused = await call('token-bob', 'POST', 'projects/p1', { events: [event('b2')] });
      expect(refused.status).toBe(403);
      expect((await read('token-alice', 'projects/p1')).status).toBe(200);
      expect((await read('token-bob', 'projects/p1')).status).toBe(403);
      expect(await read('token-bob', 'nothing')).toMatchObject({
        status: 403,
        body: { message: 'no rule allows "nothing"' },
      });
    } finally {
      await running.stop();
    }
  });

  it('names the line and the field of a rules file that is wrong, and does not start', async () => {
    const bad = join(directory, 'bad.json');
    await writeFile(
      bad,
      '{\n  "repositories": [\n    { "repository": "todos", "private": true },\n    { "repository": "projects/{id}", "read": { "claim": "projects", "includes": "{projectId}" } }\n  ]\n}\n',
    );
    const { code, stderr } = await runCli(['--store', 'memory', '--rules', bad]);
    expect(code).toBe(2);
    expect(stderr).toContain('line 4');
    expect(stderr).toContain('repositories[1].read.includes');
    expect(stderr).toContain('{projectId} is not a parameter of this rule');
    const missing = await runCli(['--store', 'memory', '--rules', join(directory, 'none.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot be read');
  });

  it('reloads the rules file on SIGHUP and revokes what it takes away', async () => {
    const file = join(directory, 'reload.json');
    await writeFile(file, JSON.stringify(RULES));
    const server = await startServerProcess([
      '--store',
      'memory',
      '--auth',
      `tokens:${tokensFile}`,
      '--rules',
      file,
    ]);
    const bob = await RawClient.connect(`ws://127.0.0.1:${server.port}/sync`, 'token-bob');
    try {
      await bob.send({ type: 'request_events', repository: 'announcements' });
      await bob.next((message) => message.type === 'sync_complete');
      await writeFile(
        file,
        JSON.stringify({ repositories: [{ repository: 'todos', private: true }] }),
      );
      server.child.kill('SIGHUP');
      const revoked = await bob.next((message) => message.type === 'access_revoked');
      expect(revoked).toEqual({ type: 'access_revoked', repository: 'announcements' });
    } finally {
      bob.socket.close();
      await stopProcess(server.child, 'SIGTERM');
    }
  });

  it('keeps the rules in force when the reloaded file has problems', async () => {
    const file = join(directory, 'kept.json');
    await writeFile(file, JSON.stringify(RULES));
    const running = await startTestServer({
      rules: file,
      auth: { kind: 'tokens', file: tokensFile },
    });
    const bob = await RawClient.connect(running.wsUrl, 'token-bob');
    try {
      await writeFile(file, '{ "repositories": [ { "repository": "x" } ] }');
      await running.server.reloadRules();
      await bob.send({ type: 'request_events', repository: 'announcements', requestId: 'r' });
      const answer = await bob.next((message) => message.requestId === 'r');
      expect(answer.type).toBe('sync_complete');
    } finally {
      bob.socket.close();
      await running.stop();
    }
  });
});

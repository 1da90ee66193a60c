import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLocalFirstError } from '@local-first/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../src/rules/load.js';
import { PRIVATE_PREFIX, Rules, RulesError, repositoryNameProblem } from '../src/rules/rules.js';

// Printed so that any run can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[rules] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

/** The example of the server README, as a file would hold it. */
const EXAMPLE = `{
  "version": 1,
  "repositories": [
    { "repository": "todos", "private": true },
    {
      "repository": "projects/{projectId}",
      "read": { "claim": "projects", "includes": "{projectId}" },
      "write": { "claim": "editorOf", "includes": "{projectId}" }
    },
    { "repository": "announcements", "read": "anyone", "write": { "users": ["admin"] } },
    {
      "repository": "shared-list",
      "write": { "anyOf": [{ "users": ["alice"] }, { "claim": "team", "equals": "blue" }] }
    }
  ]
}
`;

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'lf-rules-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, text);
  return path;
}

async function failure(work: () => Promise<unknown>): Promise<RulesError> {
  try {
    await work();
  } catch (error) {
    if (error instanceof RulesError) return error;
    throw error;
  }
  throw new Error('the rules were accepted');
}

const alice = { userId: 'alice', claims: { projects: ['p1', 'p2'], editorOf: ['p1'] } };
const bob = { userId: 'bob', claims: { projects: ['p2'], team: 'blue' } };
const admin = { userId: 'admin' };

describe('rules', () => {
  it('gives each user its own private copy under the same name', async () => {
    const rules = await loadRules(await file('rules.json', EXAMPLE));
    const mine = await rules.access(alice, 'todos');
    const theirs = await rules.access(bob, 'todos');
    expect(mine).toEqual({ stored: `${PRIVATE_PREFIX}alice/todos`, read: true, write: true });
    expect(theirs).toEqual({ stored: `${PRIVATE_PREFIX}bob/todos`, read: true, write: true });
  });

  it('lets members read shared repositories, editors write, and nobody else in', async () => {
    const rules = await loadRules(await file('rules.json', EXAMPLE));
    expect(await rules.access(alice, 'projects/p1')).toEqual({
      stored: 'projects/p1',
      read: true,
      write: true,
    });
    expect(await rules.access(bob, 'projects/p2')).toMatchObject({ read: true, write: false });
    expect(await rules.access(bob, 'projects/p1')).toMatchObject({ read: false, write: false });
    expect(await rules.access(bob, 'announcements')).toMatchObject({ read: true, write: false });
    expect(await rules.access(admin, 'announcements')).toMatchObject({ read: true, write: true });
    expect(await rules.access(alice, 'shared-list')).toMatchObject({ read: true, write: true });
    expect(await rules.access(bob, 'shared-list')).toMatchObject({ read: true, write: true });
    expect(await rules.access(admin, 'shared-list')).toMatchObject({ read: false, write: false });
    // Denied by default: no rule names it.
    expect(await rules.access(admin, 'notes')).toBeUndefined();
    expect(await rules.access(alice, 'projects/p1/extra')).toBeUndefined();
  });

  it('refuses crafted names: reserved prefix, dot segments, empty segments, control characters', async () => {
    const rules = await loadRules(await file('rules.json', EXAMPLE));
    for (const name of [
      '~bob/todos',
      '../todos',
      'projects/..',
      'projects//p1',
      '/todos',
      'todos\u0000',
      'projects/.',
    ]) {
      expect({ name, access: await rules.access(alice, name) }).toEqual({
        name,
        access: undefined,
      });
      expect(repositoryNameProblem(name)).toEqual(expect.any(String));
    }
    expect(repositoryNameProblem('projects/p1')).toBeUndefined();
    expect(repositoryNameProblem('ünïcødé/列表')).toBeUndefined();
  });

  it('names the line, column and field of each problem in a JSON file', async () => {
    const text = `{
  "repositories": [
    { "repository": "todos", "private": true, "read": "anyone" },
    { "repository": "projects/{id}", "read": { "claim": "", "includes": "{project}" } },
    { "repository": "x", "wirte": "anyone", "read": "anyone" }
  ]
}`;
    const error = await failure(async () => loadRules(await file('bad.json', text)));
    expect(error.code).toBe('invalid_rules');
    expect(
      error.problems.map(({ field, location }) => `${location?.line}:${location?.column} ${field}`),
    ).toEqual([
      '3:41 repositories[0].private',
      '4:57 repositories[1].read.claim',
      '4:73 repositories[1].read.includes',
      '5:35 repositories[2].wirte',
    ]);
    expect(error.message).toMatch(
      /line 4, column 73: repositories\[1\]\.read\.includes: \{project\} is not a parameter/,
    );
  });

  it('names the line and column where a JSON file stops being JSON', async () => {
    const error = await failure(async () =>
      loadRules(
        await file(
          'broken.json',
          '{\n  "repositories": [\n    { "repository": "todos" private: true }\n  ]\n}',
        ),
      ),
    );
    expect(error.problems[0]).toMatchObject({ location: { line: 3, column: 29 } });
    // One coded error: the rules' problems in details, the JSON reader's own as the cause.
    expect(isLocalFirstError(error, 'invalid_rules')).toBe(true);
    expect(error.details).toEqual({ source: expect.any(String), problems: error.problems });
    expect(error.cause).toMatchObject({ code: 'invalid_rules', details: { line: 3, column: 29 } });
    expect(error.message).toMatch(
      /^.*broken\.json: line 3, column 29: \(the file\): is not JSON: expected "," or "}"/,
    );
  });

  it('loads a module whose conditions may be code', async () => {
    const path = await file(
      'rules.mjs',
      `export default { repositories: [
        { repository: 'boards/{board}', read: (user, { board }) => board.startsWith(user.userId + '-') },
      ] };`,
    );
    const rules = await loadRules(path);
    expect(await rules.access(alice, 'boards/alice-1')).toMatchObject({ read: true, write: false });
    expect(await rules.access(bob, 'boards/alice-1')).toMatchObject({ read: false });
    const missing = await failure(async () =>
      loadRules(await file('empty.mjs', 'export const x = 1;')),
    );
    expect(missing.message).toMatch(/no default export/);
    const wrongKind = await failure(async () => loadRules(await file('rules.yaml', 'a: 1')));
    expect(wrongKind.message).toMatch(/must be \.json, or a module/);
  });

  it('fuzz: any document is compiled or refused with a RulesError, never anything else', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom('anyone', 'todos', '{p}', 'projects/{p}', '', '~x', '../a', 1, true, null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom(
            'repository',
            'private',
            'read',
            'write',
            'users',
            'claim',
            'includes',
            'equals',
            'anyOf',
            'version',
            'repositories',
            'x',
          ),
          tie('value'),
          { maxKeys: 4 },
        ),
      ),
    })).value;
    const documents = fc.oneof(json, fc.record({ repositories: fc.array(json, { maxLength: 4 }) }));
    fc.assert(
      fc.property(documents, (document) => {
        try {
          Rules.compile(document, 'fuzz');
        } catch (error) {
          expect(error).toBeInstanceOf(RulesError);
          expect((error as RulesError).problems.length).toBeGreaterThan(0);
        }
      }),
      { seed, numRuns: 1_000 },
    );
  });

  it('property: private copies of different users never share a stored name, nor meet a shared one', async () => {
    const rules = Rules.compile(
      {
        repositories: [
          { repository: 'todos', private: true },
          { repository: '{any}', read: 'anyone' },
        ],
      },
      'inline',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.string(),
        async (a, b, name) => {
          fc.pre(a !== b);
          const [mine, theirs] = [
            await rules.access({ userId: a }, 'todos'),
            await rules.access({ userId: b }, 'todos'),
          ];
          expect(mine!.stored).not.toBe(theirs!.stored);
          const shared = await rules.access({ userId: a }, name);
          if (shared) expect(shared.stored.startsWith(PRIVATE_PREFIX)).toBe(false);
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it('fuzz: a damaged rules file is refused with the line and column it names, never a crash', async () => {
    const lines = EXAMPLE.split('\n').length;
    const damage = fc.array(
      fc.record({
        at: fc.nat({ max: EXAMPLE.length }),
        cut: fc.nat({ max: 6 }),
        insert: fc.constantFrom('', '"', '{', '}', ',', ':', '[', ']', '\\', 'x', '\n', ' 1'),
      }),
      { minLength: 1, maxLength: 3 },
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(damage, async (edits) => {
        let text = EXAMPLE;
        for (const { at, cut, insert } of edits)
          text = text.slice(0, at) + insert + text.slice(Math.min(text.length, at + cut));
        try {
          await loadRules(await file('damaged.json', text));
        } catch (error) {
          expect(error).toBeInstanceOf(RulesError);
          refused += 1;
          for (const problem of (error as RulesError).problems) {
            expect(problem.field).toEqual(expect.any(String));
            const line = problem.location?.line ?? 1;
            expect(line).toBeGreaterThanOrEqual(1);
            expect(line).toBeLessThanOrEqual(lines + 3);
          }
        }
      }),
      { seed, numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(0);
  });
});

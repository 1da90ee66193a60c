import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, scratchProject, WORKSPACE_ROOT } from './packages.js';

/** The guides' package: small adapters of each kind, and tests that run the suites over them. */
const EXAMPLE = join(WORKSPACE_ROOT, 'examples', 'extending');
/** What a user copies from the example into a project of their own. */
const COPIED = ['src', 'test', 'guides', 'vitest.config.ts'];
const SETUP_TIMEOUT_MS = 300_000;
/** The suites over four adapters and two syncs, on a small machine; none of it is timed. */
const RUN_TIMEOUT_MS = 900_000;

/** The least each test file of the example must pass: a suite that ran, not one that was skipped. */
export const EXPECTED_FILES: Readonly<Record<string, number>> = {
  'test/storage.test.ts': 40,
  'test/event-store.test.ts': 20,
  'test/transport.test.ts': 10,
  'test/sync-transport.test.ts': 5,
  'test/sync-strategy.test.ts': 5,
};

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** The example's dependencies: ours (installed from tarballs) and the others, with ranges. */
export async function exampleDependencies(): Promise<{
  ours: string[];
  others: Record<string, string>;
}> {
  const manifest = JSON.parse(await readFile(join(EXAMPLE, 'package.json'), 'utf8')) as Manifest;
  const root = JSON.parse(await readFile(join(WORKSPACE_ROOT, 'package.json'), 'utf8')) as Manifest;
  const all = { ...manifest.dependencies, ...manifest.devDependencies };
  const ours = Object.keys(all).filter((name) => all[name]!.startsWith('workspace:'));
  const others = Object.fromEntries(
    Object.entries(all).filter(([, range]) => !range.startsWith('workspace:')),
  );
  // The scratch project also type-checks the example, with the workspace's compiler.
  others.typescript = root.devDependencies!.typescript!;
  return { ours, others };
}

/** What one test file of a vitest JSON report says. */
interface FileResult {
  name: string;
  assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function count(file: FileResult): Counts {
  const of = (status: string) => file.assertionResults.filter((t) => t.status === status).length;
  return { passed: of('passed'), failed: of('failed'), skipped: of('skipped') + of('pending') };
}

/** Vitest inside vitest: the child must not think it is one of the parent's workers. */
function childEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS' && key !== 'TEST',
    ),
  );
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'preserve',
    moduleResolution: 'bundler',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: false,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  },
  include: ['src', 'test'],
};

/**
 * The guides' example as a user has it: copied into a project outside the workspace that
 * installs our packages from their tarballs, type-checked there and run there with vitest.
 */
export function describeExtending(packed: () => { work: string; tarballs: Map<string, string> }) {
  describe('the guides to extending it, from the tarballs, in a project outside the workspace', () => {
    let project: string;
    let results: Map<string, FileResult>;
    let runOutput = '';

    beforeAll(async () => {
      const { work, tarballs } = packed();
      project = join(work, 'extending');
      const { ours, others } = await exampleDependencies();
      await scratchProject(project, ours, tarballs, others);
      for (const entry of COPIED) {
        await cp(join(EXAMPLE, entry), join(project, entry), { recursive: true }).catch(
          (error: NodeJS.ErrnoException) => {
            if (error.code !== 'ENOENT' || entry !== 'vitest.config.ts') throw error;
          },
        );
      }
      await writeFile(join(project, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
    }, SETUP_TIMEOUT_MS);

    it(
      'type-checks against the published types alone',
      async () => {
        await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project });
      },
      SETUP_TIMEOUT_MS,
    );

    describe('vitest in that project', () => {
      beforeAll(async () => {
        const report = join(project, 'vitest-report.json');
        runOutput = await run(
          join(project, 'node_modules', '.bin', 'vitest'),
          ['run', '--reporter=json', `--outputFile=${report}`, '--reporter=dot'],
          { cwd: project, env: childEnvironment() },
        ).catch((error: Error) => error.message);
        const parsed = JSON.parse(await readFile(report, 'utf8').catch(() => '{}')) as {
          testResults?: FileResult[];
        };
        results = new Map(
          (parsed.testResults ?? []).map((file) => [file.name.slice(project.length + 1), file]),
        );
      }, RUN_TIMEOUT_MS);

      it.each(Object.entries(EXPECTED_FILES))('%s passes (at least %i tests)', (name, least) => {
        const file = results.get(name);
        const seen = [...results].map(([other, result]) => ({ file: other, ...count(result) }));
        expect(
          file,
          `no ${name} in the run; it ran ${JSON.stringify(seen)}\n${runOutput}`,
        ).toBeDefined();
        const counts = count(file!);
        const failures = file!.assertionResults
          .filter((test) => test.status === 'failed')
          .map((test) => `${test.fullName}: ${test.failureMessages.join('\n').slice(0, 600)}`);
        expect(failures, `${name}: ${JSON.stringify(counts)}`).toEqual([]);
        expect(counts.passed, `${name}: ${JSON.stringify(counts)}`).toBeGreaterThanOrEqual(least);
      });

      it('runs no test file the list above does not know of', () => {
        expect([...results.keys()].filter((name) => !(name in EXPECTED_FILES))).toEqual([]);
      });
    });
  });
}

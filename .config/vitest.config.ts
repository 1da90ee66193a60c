import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig, type TestProjectConfiguration } from 'vitest/config';

// Workspace packages export their TypeScript sources under this condition, so tests run
// against sibling packages by name with no build step.
const SOURCE_CONDITION = '@local-first/source';

// This file lives in .config/; everything is found from the workspace root.
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const PACKAGE_GROUPS = ['core', 'adapters/*', 'strategies/*', 'examples/*', 'test/*'];

function packageDirs(): string[] {
  return PACKAGE_GROUPS.flatMap((group) => {
    if (!group.endsWith('/*')) return [join(ROOT, group)];
    const parent = join(ROOT, group.slice(0, -2));
    if (!existsSync(parent)) return [];
    return readdirSync(parent, { withFileTypes: true })
      .filter(
        (entry) => entry.isDirectory() && existsSync(join(parent, entry.name, 'package.json')),
      )
      .map((entry) => join(parent, entry.name));
  });
}

// A package with its own vitest.config.ts owns its settings; every other package gets the
// shared defaults and runs the tests in its test/ folder.
const projects: TestProjectConfiguration[] = packageDirs()
  .filter((dir) => existsSync(join(dir, 'test')) || existsSync(join(dir, 'vitest.config.ts')))
  .map((dir) =>
    existsSync(join(dir, 'vitest.config.ts'))
      ? dir
      : {
          extends: true,
          test: { name: relative(ROOT, dir), root: dir, include: ['test/**/*.test.ts'] },
        },
  );

// A package may also run tests in a real browser: its vitest.browser.config.ts is one more project.
const browserProjects = packageDirs()
  .map((dir) => join(dir, 'vitest.browser.config.ts'))
  .filter((file) => existsSync(file));

export default defineConfig({
  root: ROOT,
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
  test: {
    projects: [...projects, ...browserProjects],
    testTimeout: 20_000,
  },
});

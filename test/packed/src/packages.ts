import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspace root, three folders up from this file. */
export const WORKSPACE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PUBLISHED_GROUPS = ['core', 'adapters', 'strategies', 'test'];

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
}

/** Each published (not private) workspace package: its name, version and folder. */
export function publishedPackages(): Map<string, { version: string; directory: string }> {
  const found = new Map<string, { version: string; directory: string }>();
  for (const group of PUBLISHED_GROUPS) {
    const parent = join(WORKSPACE_ROOT, group);
    const candidates = existsSync(join(parent, 'package.json'))
      ? [parent]
      : readdirSync(parent, { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(parent, entry.name));
    for (const directory of candidates) {
      const file = join(directory, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      if (!manifest.private) found.set(manifest.name, { version: manifest.version, directory });
    }
  }
  return found;
}

/** Runs a command; on failure the error carries the end of its output. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        // Its first lines say what went wrong; the last ones, where it stopped.
        const lines = `${stderr}\n${stdout}`.trim().split('\n');
        const shown = lines.length > 40 ? [...lines.slice(0, 20), '…', ...lines.slice(-20)] : lines;
        reject(
          new Error(
            `${command} ${args.join(' ')} (in ${options.cwd}) failed:\n${shown.join('\n')}`,
          ),
        );
      },
    );
  });
}

/**
 * Builds the named packages once (in dependency order), then packs each as `pnpm pack` does for
 * a release, with `workspace:` ranges turned into versions. Returns each tarball by name.
 */
export async function packPackages(
  names: readonly string[],
  destination: string,
): Promise<Map<string, string>> {
  const published = publishedPackages();
  for (const name of names) {
    if (!published.has(name)) throw new Error(`${name} is not a published workspace package`);
  }
  await mkdir(destination, { recursive: true });
  const filters = names.flatMap((name) => ['--filter', name]);
  await run('pnpm', ['-r', ...filters, 'run', 'build'], { cwd: WORKSPACE_ROOT });
  const tarballs = new Map<string, string>();
  for (const name of names) {
    const { version, directory } = published.get(name)!;
    // Built above: the prepack script would build each package's dependencies again.
    await run('pnpm', ['--config.ignore-scripts=true', 'pack', '--pack-destination', destination], {
      cwd: directory,
    });
    const file = join(destination, `${name.slice(1).replace('/', '-')}-${version}.tgz`);
    if (!existsSync(file)) throw new Error(`pnpm pack of ${name} made no ${file}`);
    tarballs.set(name, file);
  }
  return tarballs;
}

/**
 * A project outside the workspace that depends on `dependencies` (from the tarballs) as a user's
 * would; every other package of ours that they need also comes from its tarball, never from a
 * registry. Installed with pnpm, whose store already holds the third-party packages and the
 * native builds of the workspace.
 */
export async function scratchProject(
  directory: string,
  dependencies: readonly string[],
  tarballs: ReadonlyMap<string, string>,
  /** Packages that are not ours, by name, with the version range to install. */
  others: Readonly<Record<string, string>> = {},
): Promise<void> {
  await mkdir(directory, { recursive: true });
  const spec = (name: string) => {
    const file = tarballs.get(name);
    if (!file) throw new Error(`no tarball for ${name}`);
    return `file:${file}`;
  };
  const manifest = {
    name: 'scratch',
    private: true,
    type: 'module',
    dependencies: {
      ...Object.fromEntries(dependencies.map((name) => [name, spec(name)])),
      ...others,
    },
  };
  await writeFile(join(directory, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const overrides = [...tarballs.keys()].map((name) => `  "${name}": "${spec(name)}"`);
  await writeFile(
    join(directory, 'pnpm-workspace.yaml'),
    [
      'overrides:',
      ...overrides,
      'allowBuilds:',
      '  better-sqlite3: true',
      '  bufferutil: true',
      '',
    ].join('\n'),
  );
  const nodedir = join(process.execPath, '..', '..');
  await run('pnpm', ['install', '--prefer-offline'], {
    cwd: directory,
    env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? nodedir },
  });
}

/** The packages installed in a scratch project's virtual store, by name (`ws`, `@scope/name`). */
export function installedPackages(directory: string): Set<string> {
  const store = join(directory, 'node_modules', '.pnpm');
  const names = new Set<string>();
  for (const entry of readdirSync(store)) {
    if (entry === 'node_modules' || entry.startsWith('lock')) continue;
    // `name@version…` or `@scope+name@version…`
    const at = entry.indexOf('@', entry.startsWith('@') ? 1 : 0);
    if (at > 0) names.add(entry.slice(0, at).replace('+', '/'));
  }
  return names;
}

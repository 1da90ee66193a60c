// Packs every published package into one folder, as a release would, and prints how to
// install them into a project of your own: `pnpm pack:all [folder]`.
import { resolve } from 'node:path';
import { packPackages, publishedPackages, WORKSPACE_ROOT } from '../src/packages.js';

const names = [...publishedPackages().keys()].sort();
const destination = resolve(WORKSPACE_ROOT, process.argv[2] ?? 'packs');
process.stdout.write(`building and packing ${names.length} packages into ${destination}…\n`);
const tarballs = await packPackages(names, destination);
const width = Math.max(...names.map((name) => name.length));
process.stdout.write(
  [
    '',
    ...names.map((name) => `  ${name.padEnd(width)}  ${tarballs.get(name)}`),
    '',
    'In a project of your own, install the ones you use with their dependencies among ours, e.g.:',
    `  npm install ${['@local-first/core', '@local-first/contract'].map((name) => tarballs.get(name)).join(' ')} vitest`,
    '',
  ].join('\n'),
);

// Packs @local-first/server and the packages it needs into one folder, as a release would, and
// prints how to install them into a project of your own: `pnpm pack:server [folder]`.
import { resolve } from 'node:path';
import { packPackages, WORKSPACE_ROOT } from '../src/packages.js';

const SERVER_PACKAGES = [
  '@local-first/core',
  '@local-first/store-memory',
  '@local-first/store-sqlite',
  '@local-first/store-postgres',
  '@local-first/fanout-redis',
  '@local-first/transport-ws',
  '@local-first/transport-socketio',
  '@local-first/server',
];

const destination = resolve(WORKSPACE_ROOT, process.argv[2] ?? 'packs');
process.stdout.write(
  `building and packing ${SERVER_PACKAGES.length} packages into ${destination}…\n`,
);
const tarballs = await packPackages(SERVER_PACKAGES, destination);
process.stdout.write(
  [
    '',
    'In a project of your own:',
    `  npm install ${[...tarballs.values()].join(' ')}`,
    '  npx local-first-server --store sqlite:./data/sync.db',
    '  npx local-first-server --store postgres://user:pass@127.0.0.1:5432/sync',
    '',
  ].join('\n'),
);

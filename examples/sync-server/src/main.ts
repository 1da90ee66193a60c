// Embedding the sync server in a program of your own: the same server the `local-first-server`
// command runs, started from code, here serving the built todo app beside the sync endpoints.
import { fileURLToPath } from 'node:url';
import { parseCommandLine, startSyncServer, stopOnSignals, USAGE } from '@local-first/server';
import { pino } from 'pino';

/** The todo app's build (`pnpm --filter @local-first/todo-web build`), served at `/`. */
const TODO_APP = fileURLToPath(new URL('../../todo-web/dist', import.meta.url));

const logger = pino({ name: 'sync-server', level: process.env.LOG_LEVEL ?? 'info' });

// Every option of the command (`--port`, `--store`, `--auth`, SYNC_* variables …) works here too.
const parsed = parseCommandLine(process.argv.slice(2), process.env);
if (parsed.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const { config } = parsed;

const server = await startSyncServer({
  ...config,
  staticDir: config.staticDir ?? TODO_APP,
  logger,
  // An embedding program can hand the engine more than the command line can, for example:
  // authorizer: { canRead: (user, repository) => …, canWrite: (user, repository) => … },
});
stopOnSignals(server, logger);

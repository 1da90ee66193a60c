#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, parseCommandLine, USAGE } from './config.js';
import { startSyncServer } from './server.js';
import { stopOnSignals } from './signals.js';

const logger = pino({ name: 'local-first-server', level: process.env.LOG_LEVEL ?? 'info' });

let parsed: ReturnType<typeof parseCommandLine>;
try {
  parsed = parseCommandLine(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const server = await startSyncServer({ ...parsed.config, logger }).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  logger.fatal({ error }, 'the sync server could not start');
  process.exit(1);
});
stopOnSignals(server, logger);

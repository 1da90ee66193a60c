#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, parseCommandLine, USAGE } from './config.js';
import { startSyncServer } from './server.js';

const logger = pino({ name: 'sync-server', level: process.env.LOG_LEVEL ?? 'info' });

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
  logger.fatal({ error }, 'the sync server could not start');
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight commits');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

import type { Logger } from '@local-first/core';

/**
 * Stops a server gracefully on SIGTERM or SIGINT (in-flight commits finish, sockets close with
 * 1001, the store closes) and exits; a second signal exits at once. SIGHUP reloads the rules.
 */
export function stopOnSignals(
  server: { close(): Promise<void>; reloadRules?(): Promise<void> },
  logger: Logger,
): void {
  let stopping = false;
  // The convention of daemons: SIGHUP reads the configuration (here the rules file) again.
  if (server.reloadRules) process.on('SIGHUP', () => void server.reloadRules!());
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
}

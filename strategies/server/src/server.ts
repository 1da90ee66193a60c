import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { EventStore, Logger } from '@local-first/core';
import type { Fanout } from '@local-first/core/adapter';
import { SocketIoTransportServer } from '@local-first/transport-socketio/server';
import { WsTransportServer } from '@local-first/transport-ws/server';
import {
  type AuthConfig,
  ConfigError,
  defaultFanout,
  describeFanoutKind,
  type FanoutKind,
  isRedisFanout,
  type ServerConfig,
  type StoreConfig,
} from './config.js';
import {
  type Authenticator,
  type Authorizer,
  createRestHandler,
  jwtAuth,
  noAuth,
  type StaticTokenUser,
  SyncEngine,
  type SyncLimits,
  staticTokens,
  staticTokensProblem,
} from './engine/index.js';
import { ServerMetrics } from './metrics.js';
import { loadRules } from './rules/load.js';
import { type Rules, RulesError } from './rules/rules.js';
import { createStaticHandler } from './static-files.js';

/** A started server. */
export interface RunningServer {
  /** `http://host:port` it listens on. */
  url: string;
  /** The port it listens on; the one picked when `port` was 0. */
  port: number;
  /** The engine serving every transport and REST. */
  engine: SyncEngine;
  /** How this node hears of the other nodes' commits; none for a single node. */
  fanout: Fanout | undefined;
  /** The metrics served at `/metrics`, unless turned off. */
  metrics: ServerMetrics | undefined;
  /** The HTTP server that carries WebSocket, socket.io, REST and metrics. */
  http: Server;
  /**
   * Reads the `--rules` file again and applies it to every connection (`access_revoked` for
   * what a user may no longer read). A file with problems changes nothing and is reported.
   * Without `--rules` there is nothing to reload.
   */
  reloadRules(): Promise<void>;
  /** Graceful shutdown: in-flight commits finish, sockets close with 1001, the store closes. */
  close(): Promise<void>;
}

/** What {@link startSyncServer} runs with: a configuration, plus what only code can give. */
export interface StartOptions extends ServerConfig {
  /** Where the server logs (pino fits). */
  logger: Logger;
  /** Replaces the authorizer (default: everyone may read and write everything); not with `rules`. */
  authorizer?: Authorizer;
  limits?: Partial<SyncLimits>;
}

/**
 * Loads an optional part of the server (a store and its driver) and says what to install when
 * it is missing, instead of a bare module-not-found.
 */
async function loadOptional<T>(load: () => Promise<T>, what: string, install: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigError(
        `${what} is not installed: ${(error as Error).message.split('\n')[0]}. ` +
          `Install it beside @local-first/server: npm install ${install}`,
        { cause: error },
      );
    }
    throw error;
  }
}

const SQLITE_PACKAGES = '@local-first/store-sqlite better-sqlite3';
const POSTGRES_PACKAGES = '@local-first/store-postgres pg';
const REDIS_PACKAGES = '@local-first/fanout-redis ioredis';

/** Opens the configured store; drivers are loaded only for the store in use. */
export async function openStore(config: StoreConfig): Promise<EventStore> {
  let store: EventStore;
  switch (config.kind) {
    case 'memory': {
      const { MemoryEventStore } = await import('@local-first/store-memory');
      store = new MemoryEventStore();
      break;
    }
    case 'sqlite': {
      const { SqliteEventStore } = await loadOptional(
        () => import('@local-first/store-sqlite'),
        'the SQLite store',
        SQLITE_PACKAGES,
      );
      await mkdir(dirname(config.path), { recursive: true });
      store = new SqliteEventStore({
        path: config.path,
        ...(config.groupCommit === false ? { groupCommit: false } : {}),
        ...(config.writer ? { writer: config.writer } : {}),
      });
      break;
    }
    case 'postgres': {
      const { PostgresEventStore } = await loadOptional(
        () => import('@local-first/store-postgres'),
        'the PostgreSQL store',
        POSTGRES_PACKAGES,
      );
      store = new PostgresEventStore({ connectionString: config.connectionString });
      break;
    }
  }
  if (config.kind === 'memory') await store.open();
  else {
    const packages = config.kind === 'sqlite' ? SQLITE_PACKAGES : POSTGRES_PACKAGES;
    await loadOptional(() => store.open(), `the ${config.kind} driver`, packages);
  }
  return store;
}

/**
 * Opens the fan-out between nodes: through the store's PostgreSQL database (its listening
 * connection is its own, next to the store's pool), through Redis pub/sub, or none.
 */
export async function openFanout(
  kind: FanoutKind,
  config: StoreConfig,
  logger: Logger,
): Promise<Fanout | undefined> {
  if (kind === 'none') return undefined;
  if (config.kind !== 'postgres') {
    throw new ConfigError(
      `--fanout ${describeFanoutKind(kind)} needs a postgres:// store, not ${config.kind}`,
    );
  }
  if (isRedisFanout(kind)) {
    const { RedisFanout } = await loadOptional(
      () => import('@local-first/fanout-redis'),
      'the Redis fan-out',
      REDIS_PACKAGES,
    );
    const fanout = new RedisFanout({ url: kind, logger });
    await fanout.open();
    return fanout;
  }
  const { PostgresFanout } = await loadOptional(
    () => import('@local-first/store-postgres'),
    'the PostgreSQL fan-out',
    POSTGRES_PACKAGES,
  );
  const fanout = new PostgresFanout({ connectionString: config.connectionString, logger });
  await fanout.open();
  return fanout;
}

/**
 * Gives the store a new epoch: every client re-syncs every repository from the start at its
 * next catch-up. Only an operator knows that the data was restored from an older copy, which
 * keeps the epoch it had when it was saved.
 */
export async function startNewEpoch(store: EventStore, logger: Logger): Promise<string> {
  if (!store.newEpoch) {
    await store.close();
    throw new ConfigError(`the ${store.kind} store has no epochs: --new-epoch cannot be used`);
  }
  const epoch = await store.newEpoch();
  logger.warn({ epoch }, 'the store starts a new epoch: clients re-sync from the start');
  return epoch;
}

/** The authenticator an `--auth` spec names; a tokens file is read and checked here. */
export async function createAuthenticator(
  config: AuthConfig,
  logger: Logger,
): Promise<Authenticator> {
  switch (config.kind) {
    case 'none':
      return noAuth({ logger });
    case 'tokens': {
      let tokens: unknown;
      try {
        tokens = JSON.parse(await readFile(config.file, 'utf8'));
      } catch (error) {
        throw new ConfigError(`--auth tokens:${config.file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const problem = staticTokensProblem(tokens);
      if (problem) throw new ConfigError(`--auth tokens:${config.file}: ${problem}`);
      return staticTokens(tokens as Record<string, StaticTokenUser>);
    }
    case 'jwt':
      return jwtAuth({ secret: config.secret });
  }
}

/**
 * Starts the sync server: one HTTP server carrying REST, the static app, raw WebSocket at
 * `/sync` and socket.io at `/socket.io`, all served by one engine over one store.
 */
export async function startSyncServer(options: StartOptions): Promise<RunningServer> {
  const { logger } = options;
  if (options.rules !== undefined && options.authorizer)
    throw new ConfigError('give --rules or an authorizer, not both');
  const rules = options.rules === undefined ? undefined : await readRules(options.rules);
  const authenticator = await createAuthenticator(options.auth, logger);
  if (rules && authenticator.kind === 'none')
    logger.warn({}, 'rules with auth "none": every connection is the user "anonymous"');
  const store = await openStore(options.store);
  if (options.newEpoch) await startNewEpoch(store, logger);
  const fanoutKind = options.fanout ?? defaultFanout(options.store);
  const fanout = await openFanout(fanoutKind, options.store, logger).catch(async (error) => {
    await store.close();
    throw error;
  });
  const metrics = options.metrics === false ? undefined : new ServerMetrics();
  const engine = new SyncEngine({
    store,
    ...(metrics ? { observer: metrics } : {}),
    ...(fanout ? { fanout } : {}),
    authenticator,
    logger,
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    ...(rules ? { rules } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.serverId !== undefined ? { serverId: options.serverId } : {}),
  });
  const serverId = await engine.serverId();
  const rest = createRestHandler(engine);
  const serveStatic = options.staticDir ? createStaticHandler(options.staticDir) : undefined;
  if (options.staticDir && !existsSync(join(options.staticDir, 'index.html'))) {
    logger.warn(
      { staticDir: options.staticDir },
      `--static ${options.staticDir} has no index.html`,
    );
  }
  const http = createServer((request, response) => {
    void (async () => {
      if (metrics && (await metrics.handle(request, response))) return;
      if (await rest(request, response)) return;
      if (serveStatic && (await serveStatic(request, response))) return;
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ type: 'error', code: 'not_found', message: 'no such route' }));
    })().catch((error: unknown) => {
      logger.error({ error }, 'HTTP request failed');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  engine.attach(new WsTransportServer({ server: http, maxPayload: engine.limits.maxFrameBytes }));
  engine.attach(
    new SocketIoTransportServer({ server: http, maxPayload: engine.limits.maxFrameBytes }),
  );

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  const app = options.staticDir ? `${url}/` : undefined;
  logger.info(
    {
      url,
      ws: `ws://${host}:${port}/sync`,
      socketio: `${url}/socket.io`,
      ...(app ? { app } : {}),
      ...(metrics ? { metrics: `${url}/metrics` } : {}),
      store: store.kind,
      fanout: describeFanoutKind(fanoutKind),
      ...(fanout ? { node: fanout.node } : {}),
      auth: engine.authenticator.kind,
      access: options.rules === undefined ? engine.accessPolicy.kind : `rules ${options.rules}`,
      ...(serverId !== undefined ? { serverId } : {}),
    },
    `sync server listening on ${url} (store: ${store.kind}, auth: ${engine.authenticator.kind}` +
      `${options.rules === undefined ? '' : `, rules: ${options.rules}`})` +
      (app ? `; open ${app} for the app` : ''),
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    engine,
    fanout,
    metrics,
    http,
    async reloadRules() {
      if (options.rules === undefined) {
        logger.warn({}, 'no --rules file to reload');
        return;
      }
      try {
        engine.setRules(await readRules(options.rules));
        logger.info({ rules: options.rules }, 'rules reloaded');
      } catch (error) {
        logger.error(
          { error: (error as Error).message },
          'the rules file has problems: the rules in force are kept',
        );
      }
    },
    close() {
      closing ??= (async () => {
        await engine.close();
        // close() waits for every connection to end; idle keep-alive ones never would.
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await closed;
        await fanout?.close();
        await store.close();
        logger.info({}, 'sync server stopped');
      })();
      return closing;
    },
  };
}

/** Loads a rules file; its problems become a `ConfigError` that names their lines and fields. */
async function readRules(file: string): Promise<Rules> {
  try {
    return await loadRules(file);
  } catch (error) {
    if (error instanceof RulesError)
      throw new ConfigError(`--rules ${error.message}`, {
        cause: error,
        details: { problems: error.problems },
      });
    throw error;
  }
}

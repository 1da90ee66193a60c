import { parseArgs } from 'node:util';
import {
  DEFAULT_MAX_CLOCK_DRIFT_MS,
  ERROR_CODES,
  LocalFirstError,
} from '@local-first/core/adapter';

/** The port `--port` defaults to. */
export const DEFAULT_PORT = 8080;
/** The address `--host` defaults to: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';
/** The store `--store` defaults to: a SQLite file under `./data`. */
export const DEFAULT_STORE = 'sqlite:./data/sync.db';
/** The authentication `--auth` defaults to: none, for development. */
export const DEFAULT_AUTH = 'none';
/** Every option `--some-name` may also come from the environment variable `SYNC_SOME_NAME`. */
export const ENV_PREFIX = 'SYNC_';
/** The environment variable read for `--fanout` when the flag is not given. */
export const FANOUT_ENV = 'SYNC_FANOUT';

/** The variable that stands for an option: `--max-page` is `SYNC_MAX_PAGE`. */
export function envName(option: string): string {
  return ENV_PREFIX + option.toUpperCase().replaceAll('-', '_');
}

/** Where events are kept. */
export type StoreConfig =
  /** A SQLite file (`sqlite:PATH`). */
  | {
      /** Store discriminator. */
      kind: 'sqlite';
      /** The database file. */
      path: string;
      /** Commit the pushes that arrive during a commit together in the next one. Default on. */
      groupCommit?: boolean;
      /** Run commits in a writer thread, or on the event loop. Default `thread`. */
      writer?: 'thread' | 'inline';
    }
  /** A PostgreSQL database (`postgres://…`). */
  | {
      /** Store discriminator. */
      kind: 'postgres';
      /** The `postgres://` URL. */
      connectionString: string;
    }
  /** Memory only: everything is gone when the process ends. */
  | {
      /** Store discriminator. */
      kind: 'memory';
    };

/**
 * How this node hears of other nodes' commits: `postgres` is LISTEN/NOTIFY through the store's
 * database; a `redis://` (or `rediss://`) URL is pub/sub through that Redis; `none` keeps
 * broadcasts inside this process.
 */
export type FanoutKind = 'none' | 'postgres' | `redis://${string}` | `rediss://${string}`;

/** True for a fan-out spec that names a Redis server. */
export function isRedisFanout(
  kind: FanoutKind,
): kind is `redis://${string}` | `rediss://${string}` {
  return kind.startsWith('redis://') || kind.startsWith('rediss://');
}

/** A fan-out spec fit for a log line: a Redis URL without its password. */
export function describeFanoutKind(kind: FanoutKind): string {
  if (!isRedisFanout(kind)) return kind;
  try {
    const url = new URL(kind);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'redis';
  }
}

/** Who may connect. */
export type AuthConfig =
  /** Everyone may connect; for development. */
  | {
      /** Authentication discriminator. */
      kind: 'none';
    }
  /** Fixed tokens from a JSON file (`tokens:FILE`). */
  | {
      /** Authentication discriminator. */
      kind: 'tokens';
      /** The JSON file mapping each token to its user. */
      file: string;
    }
  /** JWTs signed with a shared secret (`jwt:SECRET`). */
  | {
      /** Authentication discriminator. */
      kind: 'jwt';
      /** The HMAC secret the tokens are signed with. */
      secret: string;
    };

/** What the `local-first-server` command runs with, read from its options and environment. */
export interface ServerConfig {
  /** The port to listen on; 0 picks a free one. */
  port: number;
  /** The address to listen on. */
  host: string;
  /** Where events are kept. */
  store: StoreConfig;
  /** Who may connect. */
  auth: AuthConfig;
  /** A folder of static files served at `/` (the built web app), if any. */
  staticDir: string | undefined;
  /** Limits given on the command line; the engine's defaults apply to the rest. */
  limits?: {
    /** `--max-page`: most events in one catch-up page. */
    maxPageEvents?: number;
    /** `--max-batch`: most events in one pushed batch. */
    maxBatchEvents?: number;
    /** `--max-frame`: largest frame in bytes. */
    maxFrameBytes?: number;
    /** `--max-clock-drift`: how far ahead of the server's clock a stamp may be, in ms. */
    maxClockDriftMs?: number;
    /** `--send-high-water`: unsent bytes past which a connection gets no live events. */
    sendHighWaterBytes?: number;
  };
  /** Names the deployment in `auth_success`; default: the store's stable id. */
  serverId?: string;
  /** Gives the store a new epoch before serving (after restoring a backup). */
  newEpoch?: boolean;
  /** The fan-out between nodes. Default: `postgres` with a PostgreSQL store, else `none`. */
  fanout?: FanoutKind;
  /** Serve Prometheus metrics at `/metrics`. Default: true. */
  metrics?: boolean;
  /**
   * A rules file (JSON, or a JS module) that says who may read and write which repository;
   * deny by default once given. Without it, every user may read and write everything.
   */
  rules?: string;
}

/** The command's `--help` text. */
export const USAGE = `Usage: local-first-server [options]

Serves the sync protocol over raw WebSocket (/sync) and socket.io (/socket.io), plus REST (/api),
on one port.

Options:
  --port N          port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR       address to listen on (default ${DEFAULT_HOST}; 0.0.0.0 for other devices)
  --store SPEC      sqlite:PATH | postgres://user:pass@host:port/db | memory
                    (default ${DEFAULT_STORE})
  --auth SPEC       none | tokens:FILE | jwt:SECRET (default ${DEFAULT_AUTH}; none is for development)
                    FILE is JSON mapping each token to its user id: {"token-1": "alice"},
                    or to a user with claims: {"token-2": {"userId": "bob",
                    "claims": {"projects": ["p1"]}}}
  --rules FILE      who may read and write what: a JSON file or a JS module (see the
                    server README, "Rules"); deny by default once given. SIGHUP reloads it.
                    Without it every user may read and write every repository
  --static DIR      serve the files of DIR at / (the built web app)
  --max-page N      most events in one catch-up page (default 1000)
  --max-batch N     most events in one pushed batch (default 500)
  --max-frame N     largest frame in bytes (default 1048576)
  --send-high-water N
                    unsent bytes per connection past which it gets no live events and is told
                    to catch up once it reads again (default 1048576)
  --max-clock-drift MS
                    how far ahead of the server clock an event's stamp may be, in
                    milliseconds (default ${DEFAULT_MAX_CLOCK_DRIFT_MS}); later ones are rejected
  --server-id ID    the serverId sent to clients (default: the store's own stable id)
  --new-epoch       give the store a new epoch before serving: use it once, on the first start
                    after restoring a backup, so clients re-sync from the start
  --fanout KIND     none | postgres | redis://HOST:PORT: how nodes over one database hear of
                    each other's commits: through PostgreSQL itself or through Redis pub/sub
                    (default postgres with a postgres:// store, else none; env ${FANOUT_ENV})
  --metrics on|off  serve Prometheus metrics at /metrics (default on)
  --group-commit on|off
                    SQLite: commit the pushes that arrive during a commit together in the next
                    one, one fsync for all (default on)
  --sqlite-writer thread|inline
                    SQLite: run commits in a writer thread, so a slow fsync holds no other
                    connection (default thread), or on the event loop
  --help            print this and exit

Every option may also be given in the environment, as SYNC_ and its name in capitals with
underscores (SYNC_PORT=8081, SYNC_STORE=postgres://…, SYNC_NEW_EPOCH=1); the command line wins.
`;

/** A command line that cannot be run: code `invalid_config`; the message says why. */
export class ConfigError extends LocalFirstError {
  constructor(
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(ERROR_CODES.invalidConfig, message, options);
  }
}

/** Reads a `--store` spec: `sqlite:PATH`, a `postgres://` URL or `memory`. */
export function parseStore(spec: string): StoreConfig {
  if (spec === 'memory') return { kind: 'memory' };
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (!path)
      throw new ConfigError('--store sqlite: needs a file path, e.g. sqlite:./data/sync.db');
    return { kind: 'sqlite', path };
  }
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
    return { kind: 'postgres', connectionString: spec };
  }
  throw new ConfigError(`--store "${spec}" is not sqlite:PATH, postgres://… or memory`);
}

export function parseFanout(spec: string, store: StoreConfig, from: string): FanoutKind {
  const redis = spec.startsWith('redis://') || spec.startsWith('rediss://');
  if (spec !== 'none' && spec !== 'postgres' && !redis) {
    throw new ConfigError(`${from} "${spec}" is not none, postgres or a redis:// URL`);
  }
  if (redis) {
    try {
      new URL(spec);
    } catch {
      throw new ConfigError(`${from} "${spec}" is not a valid redis:// URL`);
    }
  }
  if (spec !== 'none' && store.kind !== 'postgres') {
    // Nodes share their log in one database; a fan-out only tells them when it grew.
    const name = redis ? 'redis://…' : 'postgres';
    throw new ConfigError(`${from} ${name} needs a postgres:// store, not ${store.kind}`);
  }
  return spec as FanoutKind;
}

/** The fan-out a store gets when none is asked for: nodes over one database should hear each other. */
export function defaultFanout(store: StoreConfig): FanoutKind {
  return store.kind === 'postgres' ? 'postgres' : 'none';
}

export function parseAuth(spec: string): AuthConfig {
  if (spec === 'none') return { kind: 'none' };
  if (spec.startsWith('tokens:') && spec.length > 'tokens:'.length) {
    return { kind: 'tokens', file: spec.slice('tokens:'.length) };
  }
  if (spec.startsWith('jwt:') && spec.length > 'jwt:'.length)
    return { kind: 'jwt', secret: spec.slice('jwt:'.length) };
  throw new ConfigError(`--auth "${spec}" is not none, tokens:FILE or jwt:SECRET`);
}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  store: { type: 'string' },
  auth: { type: 'string' },
  static: { type: 'string' },
  'max-page': { type: 'string' },
  'max-batch': { type: 'string' },
  'max-frame': { type: 'string' },
  'send-high-water': { type: 'string' },
  'max-clock-drift': { type: 'string' },
  'server-id': { type: 'string' },
  'new-epoch': { type: 'boolean' },
  fanout: { type: 'string' },
  metrics: { type: 'string' },
  'group-commit': { type: 'string' },
  'sqlite-writer': { type: 'string' },
  rules: { type: 'string' },
  help: { type: 'boolean' },
} as const;

type Values = {
  -readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean'
    ? boolean
    : string;
};

/**
 * Fills the options the command line left out from the environment. An empty variable is an
 * unset one, as shells and env files leave them; a flag reads 1/true/yes or 0/false/no.
 */
function fromEnvironment(
  values: Values,
  env: Readonly<Record<string, string | undefined>>,
): Values {
  const filled: Values = { ...values };
  for (const [option, { type }] of Object.entries(OPTIONS) as [
    keyof typeof OPTIONS,
    { type: string },
  ][]) {
    if (option === 'help' || filled[option] !== undefined) continue;
    const text = env[envName(option)];
    if (text === undefined || text === '') continue;
    if (type === 'string') {
      (filled as Record<string, string>)[option] = text;
      continue;
    }
    const flag = text.toLowerCase();
    if (['1', 'true', 'yes'].includes(flag)) (filled as Record<string, boolean>)[option] = true;
    else if (['0', 'false', 'no'].includes(flag))
      (filled as Record<string, boolean>)[option] = false;
    else throw new ConfigError(`${envName(option)}="${text}" is not 1, true, yes, 0, false or no`);
  }
  return filled;
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    // `pnpm start -- --help` hands the `--` on to the script; the server takes no positional
    // arguments, so the separator means nothing here and must not end the options.
    args: argv.filter((arg) => arg !== '--'),
    options: OPTIONS,
    strict: true,
    allowPositionals: false,
  });
}

/**
 * Reads the command line, and from `env` every option it does not give (`SYNC_PORT` for
 * `--port`…); `help` is true when the usage should be printed instead.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
):
  | {
      /** `--help` was given: print `USAGE` and exit. */
      help: true;
    }
  | {
      /** A run was asked for. */
      help: false;
      /** What to run with. */
      config: ServerConfig;
    } {
  let given: Values;
  try {
    ({ values: given } = parseOptions(argv));
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  if (given.help) return { help: true };
  const values = fromEnvironment(given, env);
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(`--port "${values.port}" is not a port number`);
  }
  const limits: NonNullable<ServerConfig['limits']> = {};
  for (const [option, key] of [
    ['max-page', 'maxPageEvents'],
    ['max-batch', 'maxBatchEvents'],
    ['max-frame', 'maxFrameBytes'],
    ['send-high-water', 'sendHighWaterBytes'],
  ] as const) {
    const text = values[option];
    if (text === undefined) continue;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 1)
      throw new ConfigError(`--${option} "${text}" is not a positive integer`);
    limits[key] = value;
  }
  const drift = values['max-clock-drift'];
  if (drift !== undefined) {
    const value = Number(drift);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new ConfigError(`--max-clock-drift "${drift}" is not a whole number of milliseconds`);
    limits.maxClockDriftMs = value;
  }
  if (values.rules === '') throw new ConfigError('--rules needs a file');
  const serverId = values['server-id'];
  if (serverId === '') throw new ConfigError('--server-id needs a value');
  const parsedStore = parseStore(values.store ?? DEFAULT_STORE);
  const groupCommit = values['group-commit'];
  if (groupCommit !== undefined && groupCommit !== 'on' && groupCommit !== 'off')
    throw new ConfigError(`--group-commit "${groupCommit}" is not on or off`);
  const writer = values['sqlite-writer'];
  if (writer !== undefined && writer !== 'thread' && writer !== 'inline')
    throw new ConfigError(`--sqlite-writer "${writer}" is not thread or inline`);
  const store: StoreConfig =
    parsedStore.kind === 'sqlite'
      ? {
          ...parsedStore,
          ...(groupCommit === 'off' ? { groupCommit: false } : {}),
          ...(writer === 'inline' ? { writer } : {}),
        }
      : parsedStore;
  const fanoutSpec = values.fanout;
  const from = given.fanout !== undefined ? '--fanout' : FANOUT_ENV;
  const fanout = fanoutSpec === undefined ? undefined : parseFanout(fanoutSpec, store, from);
  const metrics = values.metrics;
  if (metrics !== undefined && metrics !== 'on' && metrics !== 'off')
    throw new ConfigError(`--metrics "${metrics}" is not on or off`);
  return {
    help: false,
    config: {
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
      ...(serverId !== undefined ? { serverId } : {}),
      ...(values['new-epoch'] ? { newEpoch: true } : {}),
      ...(fanout !== undefined ? { fanout } : {}),
      ...(metrics === 'off' ? { metrics: false } : {}),
      ...(values.rules !== undefined ? { rules: values.rules } : {}),
      port,
      host: values.host ?? DEFAULT_HOST,
      store,
      auth: parseAuth(values.auth ?? DEFAULT_AUTH),
      staticDir: values.static,
    },
  };
}

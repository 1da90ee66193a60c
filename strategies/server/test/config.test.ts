import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  defaultFanout,
  describeFanoutKind,
  parseCommandLine,
  parseStore,
} from '../src/config.js';
import { createAuthenticator, startSyncServer } from '../src/server.js';

describe('command line', () => {
  it('defaults to SQLite at ./data/sync.db on port 8080 with no auth', () => {
    expect(parseCommandLine([])).toEqual({
      help: false,
      config: {
        port: 8080,
        host: '127.0.0.1',
        store: { kind: 'sqlite', path: './data/sync.db' },
        auth: { kind: 'none' },
        staticDir: undefined,
      },
    });
  });

  it('reads every option', () => {
    const parsed = parseCommandLine([
      '--port',
      '0',
      '--host',
      '0.0.0.0',
      '--store',
      'postgres://u:p@127.0.0.1:5432/db',
      '--auth',
      'jwt:s3cret',
      '--static',
      'dist',
    ]);
    expect(parsed).toEqual({
      help: false,
      config: {
        port: 0,
        host: '0.0.0.0',
        store: { kind: 'postgres', connectionString: 'postgres://u:p@127.0.0.1:5432/db' },
        auth: { kind: 'jwt', secret: 's3cret' },
        staticDir: 'dist',
      },
    });
    expect(parseCommandLine(['--store', 'memory', '--auth', 'tokens:t.json'])).toMatchObject({
      config: { store: { kind: 'memory' }, auth: { kind: 'tokens', file: 't.json' } },
    });
    expect(parseCommandLine(['--help'])).toEqual({ help: true });
  });

  it('reads the options of protocol revision 1.1', () => {
    expect(
      parseCommandLine(['--max-clock-drift', '60000', '--server-id', 'eu-1', '--new-epoch']),
    ).toMatchObject({
      config: { limits: { maxClockDriftMs: 60_000 }, serverId: 'eu-1', newEpoch: true },
    });
    expect(parseCommandLine(['--max-clock-drift', '0'])).toMatchObject({
      config: { limits: { maxClockDriftMs: 0 } },
    });
  });

  it('reads --fanout, else SYNC_FANOUT, and leaves the default to the store', () => {
    const postgres = ['--store', 'postgres://u@127.0.0.1/db'];
    expect(parseCommandLine(postgres)).not.toHaveProperty('config.fanout');
    expect(parseCommandLine([...postgres, '--fanout', 'none'])).toMatchObject({
      config: { fanout: 'none' },
    });
    expect(parseCommandLine([...postgres, '--fanout', 'postgres'])).toMatchObject({
      config: { fanout: 'postgres' },
    });
    expect(parseCommandLine(postgres, { SYNC_FANOUT: 'none' })).toMatchObject({
      config: { fanout: 'none' },
    });
    expect(
      parseCommandLine([...postgres, '--fanout', 'postgres'], { SYNC_FANOUT: 'none' }),
    ).toMatchObject({ config: { fanout: 'postgres' } });
    expect(parseCommandLine(['--store', 'memory'], { SYNC_FANOUT: '' })).not.toHaveProperty(
      'config.fanout',
    );
    expect(defaultFanout(parseStore('postgres://u@127.0.0.1/db'))).toBe('postgres');
    expect(defaultFanout(parseStore('sqlite:./x.db'))).toBe('none');
    expect(defaultFanout(parseStore('memory'))).toBe('none');
  });

  it('reads a redis:// fan-out, and logs it without its password', () => {
    const postgres = ['--store', 'postgres://u@127.0.0.1/db'];
    expect(
      parseCommandLine([...postgres, '--fanout', 'redis://:secret@cache:6379/0']),
    ).toMatchObject({ config: { fanout: 'redis://:secret@cache:6379/0' } });
    expect(parseCommandLine(postgres, { SYNC_FANOUT: 'rediss://cache:6380' })).toMatchObject({
      config: { fanout: 'rediss://cache:6380' },
    });
    expect(describeFanoutKind('redis://:secret@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(describeFanoutKind('postgres')).toBe('postgres');
  });

  it.each([
    [['--store', 'postgres://u@h/db', '--fanout', 'redis'], {}],
    [['--store', 'sqlite:./x.db', '--fanout', 'postgres'], {}],
    [['--store', 'memory'], { SYNC_FANOUT: 'postgres' }],
    [['--store', 'postgres://u@h/db'], { SYNC_FANOUT: 'yes' }],
    [['--store', 'sqlite:./x.db', '--fanout', 'redis://127.0.0.1:6379'], {}],
    [['--store', 'postgres://u@h/db', '--fanout', 'redis://[::1'], {}],
  ])('refuses the fan-out of %j with %j', (argv, env) => {
    expect(() => parseCommandLine(argv, env)).toThrow(ConfigError);
  });

  it('reads --metrics on|off, else SYNC_METRICS; metrics are on by default', () => {
    const config = (argv: string[], env: Record<string, string> = {}) => {
      const parsed = parseCommandLine(argv, env);
      if (parsed.help) throw new Error('help');
      return parsed.config.metrics;
    };
    expect(config([])).toBeUndefined();
    expect(config(['--metrics', 'on'])).toBeUndefined();
    expect(config(['--metrics', 'off'])).toBe(false);
    expect(config([], { SYNC_METRICS: 'off' })).toBe(false);
    expect(config(['--metrics', 'on'], { SYNC_METRICS: 'off' })).toBeUndefined();
    expect(() => config(['--metrics', 'maybe'])).toThrow(/--metrics "maybe" is not on or off/);
  });

  it('reads --send-high-water, --group-commit on|off and --sqlite-writer (SQLite only)', () => {
    const config = (argv: string[], env: Record<string, string> = {}) => {
      const parsed = parseCommandLine(argv, env);
      if (parsed.help) throw new Error('help');
      return parsed.config;
    };
    expect(config(['--send-high-water', '65536']).limits).toEqual({ sendHighWaterBytes: 65_536 });
    expect(() => config(['--send-high-water', '0'])).toThrow(
      /--send-high-water "0" is not a positive integer/,
    );
    expect(config(['--store', 'sqlite:/tmp/a.db']).store).toEqual({
      kind: 'sqlite',
      path: '/tmp/a.db',
    });
    expect(config(['--store', 'sqlite:/tmp/a.db', '--group-commit', 'off']).store).toEqual({
      kind: 'sqlite',
      path: '/tmp/a.db',
      groupCommit: false,
    });
    expect(config(['--store', 'memory'], { SYNC_GROUP_COMMIT: 'off' }).store).toEqual({
      kind: 'memory',
    });
    expect(() => config(['--group-commit', 'sometimes'])).toThrow(
      /--group-commit "sometimes" is not on or off/,
    );
    expect(config(['--store', 'sqlite:/tmp/a.db'], { SYNC_SQLITE_WRITER: 'inline' }).store).toEqual(
      { kind: 'sqlite', path: '/tmp/a.db', writer: 'inline' },
    );
    expect(config(['--store', 'sqlite:/tmp/a.db', '--sqlite-writer', 'thread']).store).toEqual({
      kind: 'sqlite',
      path: '/tmp/a.db',
    });
    expect(() => config(['--sqlite-writer', 'fiber'])).toThrow(
      /--sqlite-writer "fiber" is not thread or inline/,
    );
  });

  it('reads options after the `--` that `pnpm start -- …` passes on', () => {
    expect(parseCommandLine(['--static', 'dist', '--', '--help'])).toEqual({ help: true });
    expect(parseCommandLine(['--', '--port', '9000'])).toMatchObject({ config: { port: 9000 } });
  });

  it.each([
    [['--port', 'eighty']],
    [['--port', '70000']],
    [['--store', 'mongodb://x']],
    [['--store', 'sqlite:']],
    [['--auth', 'basic']],
    [['--auth', 'jwt:']],
    [['--max-clock-drift', '-5']],
    [['--max-clock-drift', '5m']],
    [['--server-id', '']],
    [['--new-epoch', 'yes']],
    [['--unknown']],
    [['positional']],
  ])('refuses %j with a ConfigError, code invalid_config', (argv) => {
    expect(() => parseCommandLine(argv)).toThrow(ConfigError);
    expect(() => parseCommandLine(argv)).toThrow(
      expect.objectContaining({ name: 'LocalFirstError', code: 'invalid_config' }),
    );
  });

  it('takes every option the command line leaves out from SYNC_ variables; the command line wins', () => {
    const env = {
      SYNC_PORT: '8081',
      SYNC_HOST: '0.0.0.0',
      SYNC_STORE: 'memory',
      SYNC_AUTH: 'tokens:t.json',
      SYNC_MAX_PAGE: '50',
      SYNC_MAX_CLOCK_DRIFT: '1000',
      SYNC_SERVER_ID: 'eu-1',
      SYNC_NEW_EPOCH: 'yes',
      SYNC_STATIC: '',
    };
    expect(parseCommandLine(['--port', '9000'], env)).toMatchObject({
      help: false,
      config: {
        port: 9000,
        host: '0.0.0.0',
        store: { kind: 'memory' },
        auth: { kind: 'tokens', file: 't.json' },
        limits: { maxPageEvents: 50, maxClockDriftMs: 1000 },
        serverId: 'eu-1',
        newEpoch: true,
        staticDir: undefined,
      },
    });
    expect(parseCommandLine([], { SYNC_NEW_EPOCH: '0' })).not.toHaveProperty('config.newEpoch');
    expect(() => parseCommandLine([], { SYNC_NEW_EPOCH: 'maybe' })).toThrow(/SYNC_NEW_EPOCH/);
    expect(() => parseCommandLine([], { SYNC_PORT: 'eighty' })).toThrow(ConfigError);
  });
});

describe('start-up errors', () => {
  const options = {
    port: 0,
    host: '127.0.0.1',
    store: { kind: 'memory' },
    auth: { kind: 'none' },
    staticDir: undefined,
    logger: silentLogger,
  } as const;

  it('refuses a tokens file it cannot read with invalid_config, the reading error as cause', async () => {
    const file = join(tmpdir(), 'lf-no-such-tokens-file.json');
    await expect(createAuthenticator({ kind: 'tokens', file }, silentLogger)).rejects.toMatchObject(
      { code: 'invalid_config', cause: { code: 'ENOENT' } },
    );
  });

  it('refuses a rules file with problems with invalid_config, each problem in details', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'lf-config-'));
    try {
      const rules = join(directory, 'rules.json');
      await writeFile(
        rules,
        '{\n  "repositories": [\n    { "repository": "todos", "wirte": "anyone" }\n  ]\n}',
      );
      const error = await startSyncServer({ ...options, rules }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({
        code: 'invalid_config',
        details: {
          problems: expect.arrayContaining([
            expect.objectContaining({
              field: 'repositories[0].wirte',
              location: { line: 3, column: 39 },
            }),
          ]),
        },
      });
      expect((error as Error).cause).toMatchObject({ code: 'invalid_rules' });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

import { describeFanout } from '@local-first/contract';
import {
  createLocalFirstContainer,
  ERROR_CODES,
  type Logger,
  silentLogger,
  TOKENS,
} from '@local-first/core';
import type { Fanout, FanoutAnnouncement, FanoutMissCause } from '@local-first/core/adapter';
import { type RedisInstance, redisMissingFor, startRedis } from '@local-first/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisFanout, type RedisFanoutOptions, redisFanoutModule } from '../src/index.js';

const missing = redisMissingFor('the Redis fan-out tests');

/** How long a wait of these tests lasts before it fails, saying what it saw. */
const WAIT_MS = 5_000;

/** What one node heard, missed and logged, with waits that fail naming what arrived. */
class Watch {
  readonly heard: FanoutAnnouncement[] = [];
  readonly missed: FanoutMissCause[] = [];
  readonly warnings: string[] = [];
  /** What the test itself marks as happened, for waits on it. */
  readonly notes: string[] = [];
  readonly logger: Logger = {
    ...silentLogger,
    warn: (_context, message) => {
      this.warnings.push(message);
      this.wake();
    },
  };
  private readonly waiters = new Set<() => void>();

  /** Starts recording what `fanout` hears and misses. */
  attach<T extends Fanout>(fanout: T): T {
    fanout.onAnnouncement((announcement) => {
      this.heard.push(announcement);
      this.wake();
    });
    fanout.onMissed?.((cause) => {
      this.missed.push(cause);
      this.wake();
    });
    return fanout;
  }

  /** Marks that something happened, and wakes the waits. */
  note(what: string): void {
    this.notes.push(what);
    this.wake();
  }

  /** Resolves once `done()` holds; checked after each announcement, miss, warning or note. */
  until(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const heard = this.heard.map((entry) => JSON.stringify(entry)).join(', ') || 'nothing';
        reject(
          new Error(
            `${what} did not happen within ${WAIT_MS} ms; heard ${heard}; missed [${this.missed.join(', ')}]; warned [${this.warnings.join('; ')}]; noted [${this.notes.join('; ')}]`,
          ),
        );
      }, WAIT_MS);
      this.waiters.add(check);
    });
  }

  hears(repository: string, lastSequence: number): Promise<void> {
    return this.until(
      () => this.heard.some((a) => a.repository === repository && a.lastSequence === lastSequence),
      `hearing ${repository} at ${lastSequence}`,
    );
  }

  warned(message: string, count = 1): Promise<void> {
    return this.until(
      () => this.warnings.filter((entry) => entry === message).length >= count,
      `the warning "${message}"`,
    );
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

const LOST = 'the fan-out lost its subscribing connection; subscribing again';

describe.skipIf(missing !== undefined)('RedisFanout on a private Redis', () => {
  let server: RedisInstance;
  let admin: Redis;
  let channels = 0;
  let nodes = 0;
  /** The connection name of each node's subscribing connection, to find it in CLIENT LIST. */
  const names = new WeakMap<Fanout, string>();

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
  }, 60_000);

  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  /** A node on `channel` whose subscribing connection can be found by its name. */
  function makeNode(channel: string, extra: Partial<RedisFanoutOptions> = {}): RedisFanout {
    nodes += 1;
    const connectionName = `lf-fanout-test-${nodes}`;
    const fanout = new RedisFanout({
      url: server.url,
      channel,
      connectionName,
      reconnectDelayMs: 5,
      maxReconnectDelayMs: 100,
      logger: silentLogger,
      ...extra,
    });
    names.set(fanout, connectionName);
    return fanout;
  }

  /** The ids of the connections named `name` on the server `via` talks to. */
  async function connectionIds(name: string, via: Redis = admin): Promise<string[]> {
    const list = String(await via.client('LIST'));
    return list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? `unparsed: ${line}`);
  }

  /** Kills the node's subscribing connection from the server side, as a failover would. */
  async function killSubscriber(fanout: Fanout): Promise<void> {
    const ids = await connectionIds(names.get(fanout)!);
    expect(ids).toHaveLength(1);
    expect(await admin.client('KILL', 'ID', ids[0]!)).toBe(1);
  }

  describeFanout('RedisFanout', async () => {
    channels += 1;
    const channel = `fanout_contract_${channels}`;
    return {
      node: async () => makeNode(channel),
      interrupt: killSubscriber,
      teardown: async () => {},
    };
  });

  it('names its two connections: the subscriber after connectionName, the publisher after it', async () => {
    const a = makeNode('fanout_names');
    await a.open();
    try {
      const name = names.get(a)!;
      expect(await connectionIds(name)).toHaveLength(1);
      expect(await connectionIds(`${name}:publish`)).toHaveLength(1);
      expect(a.listening).toBe(true);
    } finally {
      await a.close();
    }
    expect(a.listening).toBe(false);
  });

  it('fails with coded errors: not_initialized before open, closed after close, invalid_argument', async () => {
    const a = makeNode('fanout_errors');
    expect(a.listening).toBe(false);
    await expect(a.announce('todos', 1)).rejects.toMatchObject({
      code: ERROR_CODES.notInitialized,
    });
    await a.open();
    await expect(a.announce(42 as unknown as string, 1)).rejects.toMatchObject({
      code: ERROR_CODES.invalidArgument,
    });
    for (const bad of [-1, 0.5, Number.POSITIVE_INFINITY, 2 ** 53]) {
      await expect(a.announce('todos', bad)).rejects.toMatchObject({
        code: ERROR_CODES.invalidArgument,
      });
    }
    await a.close();
    await a.close();
    await expect(a.announce('todos', 1)).rejects.toMatchObject({ code: ERROR_CODES.closed });
    await expect(a.open()).rejects.toMatchObject({ code: ERROR_CODES.closed });
    const invalid = expect.objectContaining({ code: ERROR_CODES.invalidArgument });
    const url = server.url;
    for (const options of [
      { url: 'http://127.0.0.1:6379' },
      { url: 'not a url' },
      { url: undefined as unknown as string },
      { url, channel: '' },
      { url, channel: 'c'.repeat(257) },
      { url, node: '' },
      { url, node: 'n'.repeat(129) },
      { url, connectionName: 'with space' },
      { url, reconnectDelayMs: -1 },
      { url, healthCheckIntervalMs: Number.NaN },
    ]) {
      expect(() => new RedisFanout(options), JSON.stringify(options)).toThrow(invalid);
    }
  });

  it('fails to open with connection_failed when Redis cannot be reached, and closes after', async () => {
    const fanout = new RedisFanout({ url: 'redis://127.0.0.1:1', logger: silentLogger });
    await expect(fanout.open()).rejects.toMatchObject({ code: ERROR_CODES.connectionFailed });
    expect(fanout.listening).toBe(false);
    await fanout.close();
  });

  it('fails to open with connection_failed, a timeout as the cause, when Redis never answers', async () => {
    /** A server that takes the connection and never answers: connect() never settles. */
    class SilentRedis extends Redis {
      override connect(): Promise<void> {
        return new Promise<void>(() => undefined);
      }
    }
    const fanout = makeNode('fanout_silent', {
      Redis: SilentRedis as typeof Redis,
      connectTimeoutMs: 20,
    });
    const error = await fanout.open().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ERROR_CODES.connectionFailed });
    expect((error as Error).cause).toMatchObject({
      code: ERROR_CODES.timeout,
      details: { timeoutMs: 20 },
    });
    await fanout.close();
  });

  it('ignores messages on its channel that are not its own kind, and says so', async () => {
    const watch = new Watch();
    const a = makeNode('fanout_foreign');
    const b = watch.attach(makeNode('fanout_foreign', { logger: watch.logger }));
    await Promise.all([a.open(), b.open()]);
    try {
      await admin.publish('fanout_foreign', 'not json');
      await admin.publish('fanout_foreign', '{"v":2,"n":"x","s":1,"r":"todos"}');
      await admin.publish('fanout_foreign', '{"v":1,"n":"x","s":-1,"r":"todos"}');
      await a.announce('todos', 1);
      await watch.hears('todos', 1);
      expect(watch.heard).toEqual([{ repository: 'todos', lastSequence: 1, node: a.node }]);
      expect(watch.warnings).toEqual(
        Array.from({ length: 3 }, () => 'a message on the fan-out channel is not ours'),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('is not listening while cut, listens again by itself, reports it once and hears again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let subscribes = 0;
    const watch = new Watch();
    /** Holds every subscribing connection after the first until the test lets it through. */
    class GatedRedis extends Redis {
      override async connect(): Promise<void> {
        if (this.options.connectionName?.endsWith(':publish') !== true) {
          subscribes += 1;
          if (subscribes > 1) {
            watch.note(`subscribing connection ${subscribes} held`);
            await gate;
          }
        }
        return super.connect();
      }
    }
    const a = makeNode('fanout_cut');
    const b = watch.attach(
      makeNode('fanout_cut', { logger: watch.logger, Redis: GatedRedis as typeof Redis }),
    );
    await Promise.all([a.open(), b.open()]);
    try {
      expect(b.listening).toBe(true);
      await killSubscriber(b);
      await watch.warned(LOST);
      expect(b.listening).toBe(false);
      await watch.until(() => subscribes === 2, 'a second subscribing connection at the gate');
      expect(b.listening).toBe(false);
      expect(watch.missed).toEqual([]);
      release();
      await watch.until(() => watch.missed.includes('reconnect'), 'a reported reconnect');
      expect(b.listening).toBe(true);
      await a.announce('todos', 2);
      await watch.hears('todos', 2);
      expect(watch.missed).toEqual(['reconnect']);
      expect(await connectionIds(names.get(b)!)).toHaveLength(1);
    } finally {
      release();
      await a.close();
      await b.close();
    }
  });

  it('subscribes again with backoff while Redis refuses it, and reports the reconnect once', async () => {
    let refusals = 2;
    const attempts: number[] = [];
    /** Refuses the first subscribing connections after the cut, as a server that is loading. */
    class FlakyRedis extends Redis {
      override async connect(): Promise<void> {
        if (this.options.connectionName?.endsWith(':publish') !== true) {
          attempts.push(Date.now());
          if (attempts.length > 1 && refusals > 0) {
            refusals -= 1;
            throw new Error('LOADING Redis is loading the dataset in memory');
          }
        }
        return super.connect();
      }
    }
    const watch = new Watch();
    const a = makeNode('fanout_backoff');
    const b = watch.attach(
      makeNode('fanout_backoff', { logger: watch.logger, Redis: FlakyRedis as typeof Redis }),
    );
    await Promise.all([a.open(), b.open()]);
    try {
      await killSubscriber(b);
      await watch.until(() => watch.missed.includes('reconnect'), 'a reported reconnect');
      expect(refusals).toBe(0);
      expect(attempts).toHaveLength(4);
      expect(watch.warnings.filter((w) => w === 'the fan-out could not subscribe again')).toEqual([
        'the fan-out could not subscribe again',
        'the fan-out could not subscribe again',
      ]);
      expect(b.listening).toBe(true);
      await a.announce('todos', 3);
      await watch.hears('todos', 3);
      expect(watch.missed).toEqual(['reconnect']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('survives a Redis server that is stopped and started again on the same port', async () => {
    let own = await startRedis();
    const url = own.url;
    const watchA = new Watch();
    const watchB = new Watch();
    const a = watchA.attach(makeNode('fanout_restart', { url, logger: watchA.logger }));
    const b = watchB.attach(makeNode('fanout_restart', { url, logger: watchB.logger }));
    await Promise.all([a.open(), b.open()]);
    try {
      await a.announce('todos', 1);
      await watchB.hears('todos', 1);
      await own.stop();
      await Promise.all([watchA.warned(LOST), watchB.warned(LOST)]);
      expect([a.listening, b.listening]).toEqual([false, false]);
      own = await startRedis({ port: own.port });
      expect(own.url).toBe(url);
      await Promise.all(
        [watchA, watchB].map((watch) =>
          watch.until(() => watch.missed.includes('reconnect'), 'a reported reconnect'),
        ),
      );
      expect([a.listening, b.listening]).toEqual([true, true]);
      // a's publishing connection may still be reconnecting: the PUBLISH waits for it.
      await a.announce('todos', 2);
      await watchB.hears('todos', 2);
      await b.announce('notes', 1);
      await watchA.hears('notes', 1);
      expect(watchB.missed).toEqual(['reconnect']);
    } finally {
      await a.close();
      await b.close();
      await own.stop();
    }
  });

  it('drops a subscribing connection that stops answering its health check, and listens again', async () => {
    const own = await startRedis();
    const watch = new Watch();
    const b = watch.attach(
      makeNode('fanout_health', {
        url: own.url,
        healthCheckIntervalMs: 200,
        connectTimeoutMs: 300,
        logger: watch.logger,
      }),
    );
    await b.open();
    try {
      // A stopped server answers nothing and closes nothing: a link that died silently.
      process.kill(own.pid, 'SIGSTOP');
      await watch.warned(LOST);
      expect(b.listening).toBe(false);
      process.kill(own.pid, 'SIGCONT');
      await watch.until(() => watch.missed.includes('reconnect'), 'a reported reconnect');
      expect(b.listening).toBe(true);
      expect(watch.missed).toEqual(['reconnect']);
    } finally {
      process.kill(own.pid, 'SIGCONT');
      await b.close();
      await own.stop();
    }
  });
});

describe('redisFanoutModule', () => {
  it('binds one fan-out per container, not yet listening, logging to the bound logger', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const container = createLocalFirstContainer(
      redisFanoutModule({ url: 'redis://127.0.0.1:1', node: 'n1' }),
    );
    container.bind(TOKENS.Logger).toConstantValue(logger);
    const fanout = container.get<Fanout>(TOKENS.Fanout);
    expect(fanout).toBeInstanceOf(RedisFanout);
    expect(fanout.node).toBe('n1');
    expect(fanout.listening).toBe(false);
    expect(container.get<Fanout>(TOKENS.Fanout)).toBe(fanout);
  });
});

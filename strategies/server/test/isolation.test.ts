import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type PostgresInstance,
  postgresMissingFor,
  startPostgres,
} from '@local-first/test-services';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../src/config.js';
import { startTestServer } from './helpers.js';
import { checkIsolation } from './isolation-check.js';
import { probingScenario, type Scenario, scenarioArbitrary, tokensOf } from './isolation-model.js';

// The property of the rules: random users with random claims, random rules, random writes over
// raw ws, socket.io and REST; no event ever reaches a user the rules do not allow, and every
// allowed event reaches every allowed reader. Printed so that any run can be replayed with
// FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[isolation] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

const ONE_NODE_RUNS = 15;
const TWO_NODE_RUNS = 15;
/**
 * fast-check stops shrinking a counterexample after this long and reports the smallest so far:
 * a failing run can wait out a bounded wait, and the test must end with the report.
 */
const SHRINK_LIMIT_MS = 40_000;
/** Small pages: the catch-ups and REST reads of a few events take several. */
const LIMITS = { maxPageEvents: 3 };

const missing = postgresMissingFor('the two-node isolation test');

/**
 * Starts `nodes` servers on one store, with the scenario's rules and tokens files, runs the
 * scenario against them, and fails listing everything that strayed from the model.
 */
async function run(
  scenario: Scenario,
  nodes: number,
  store: (directory: string) => StoreConfig,
): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), 'lf-isolation-'));
  const rules = join(directory, 'rules.json');
  const tokens = join(directory, 'tokens.json');
  await writeFile(rules, JSON.stringify({ version: 1, repositories: scenario.rules }, null, 2));
  await writeFile(tokens, JSON.stringify(tokensOf(scenario)));
  const servers: Awaited<ReturnType<typeof startTestServer>>[] = [];
  try {
    for (let node = 0; node < nodes; node++) {
      servers.push(
        await startTestServer({
          rules,
          auth: { kind: 'tokens', file: tokens },
          store: store(directory),
          limits: LIMITS,
        }),
      );
    }
    if (nodes > 1 && servers.some((each) => each.server.fanout?.listening !== true))
      throw new Error('a node does not listen to the fan-out: nothing would cross between nodes');
    const { problems, crossed } = await checkIsolation(
      scenario,
      servers.map((each) => ({ url: each.server.url, wsUrl: each.wsUrl })),
    );
    if (problems.length > 0)
      throw new Error(`${problems.length} problems:\n  ${problems.join('\n  ')}`);
    return crossed;
  } finally {
    await Promise.all(servers.map((each) => each.stop()));
    await rm(directory, { recursive: true, force: true });
  }
}

describe('isolation under rules, one node', () => {
  it.for(['memory', 'sqlite'] as const)(
    'no event reaches a user the rules do not allow, every allowed one reaches every reader (%s store)',
    { timeout: 60_000 },
    async (kind) => {
      const store = (directory: string): StoreConfig =>
        kind === 'memory' ? { kind } : { kind, path: join(directory, 'sync.db') };
      await fc.assert(
        fc.asyncProperty(scenarioArbitrary(1), async (scenario) => {
          await run(scenario, 1, store);
        }),
        {
          seed,
          numRuns: ONE_NODE_RUNS,
          interruptAfterTimeLimit: SHRINK_LIMIT_MS,
          examples: [[probingScenario(1)]],
        },
      );
    },
  );
});

describe.skipIf(missing !== undefined)('isolation under rules, two nodes on one PostgreSQL', () => {
  let postgres: PostgresInstance;
  let admin: pg.Client;
  let databases = 0;

  beforeAll(async () => {
    postgres = await startPostgres();
    admin = new pg.Client({ connectionString: postgres.connectionString });
    await admin.connect();
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await postgres?.stop();
  });

  it('no event reaches a user the rules do not allow, every allowed one reaches every reader on both nodes', {
    timeout: 90_000,
  }, async () => {
    let crossed = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary(2), async (scenario) => {
        // A database per run: the log of an earlier run must not count in this one.
        const database = `isolation_${++databases}`;
        await admin.query(`CREATE DATABASE ${database}`);
        crossed += await run(scenario, 2, () => ({
          kind: 'postgres',
          connectionString: postgres.database(database),
        }));
      }),
      {
        seed,
        numRuns: TWO_NODE_RUNS,
        interruptAfterTimeLimit: SHRINK_LIMIT_MS,
        examples: [[probingScenario(2)]],
      },
    );
    // Live events that reached their readers through the other node's fan-out were checked.
    expect(crossed).toBeGreaterThan(0);
  });
});

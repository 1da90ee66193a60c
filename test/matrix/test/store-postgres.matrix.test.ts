import { describeSync } from '@local-first/contract';
import {
  type PostgresInstance,
  postgresAvailable,
  postgresUnavailableReason,
  type RedisInstance,
  redisMissingFor,
  startPostgres,
  startRedis,
} from '@local-first/test-services';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import {
  combinationName,
  combinationSetup,
  STORAGES,
  type StorageName,
  TRANSPORTS,
  type TransportName,
  WIRES,
  type WireName,
} from '../src/combinations.js';

const available = postgresAvailable();
if (!available) console.warn(`!!! PostgreSQL combinations skipped: ${postgresUnavailableReason()}`);

describe.skipIf(!available)('PostgreSQL combinations', () => {
  let postgres: PostgresInstance;
  let databases = 0;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(() => postgres?.stop());

  /** A fresh database per combination, so each server starts from an empty store. */
  async function freshDatabase(): Promise<string> {
    const name = `matrix_${++databases}`;
    const admin = new pg.Client({ connectionString: postgres.connectionString });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return postgres.database(name);
  }

  for (const storage of Object.keys(STORAGES) as StorageName[]) {
    for (const wire of Object.keys(WIRES) as WireName[]) {
      describeSync(combinationName(storage, wire, 'store-postgres'), async () =>
        combinationSetup(storage, wire, 'store-postgres', await freshDatabase()),
      );
    }
  }

  // Two server nodes on one database: each scenario's clients alternate between them.
  for (const transport of Object.keys(TRANSPORTS) as TransportName[]) {
    describeSync(combinationName('storage-memory', transport, 'store-postgres', 2), async () =>
      combinationSetup('storage-memory', transport, 'store-postgres', await freshDatabase(), 2),
    );
  }
});

const redisMissing = redisMissingFor('the matrix over the Redis fan-out');

// The same two nodes hearing each other through Redis pub/sub instead of the database.
describe.skipIf(!available || redisMissing !== undefined)(
  'PostgreSQL, two nodes over Redis',
  () => {
    let postgres: PostgresInstance;
    let redis: RedisInstance;
    let databases = 0;
    beforeAll(async () => {
      postgres = await startPostgres();
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
      await postgres?.stop();
    });

    for (const transport of Object.keys(TRANSPORTS) as TransportName[]) {
      describeSync(
        combinationName('storage-memory', transport, 'store-postgres', 2, 'fanout-redis'),
        async () => {
          const name = `matrix_redis_${++databases}`;
          const admin = new pg.Client({ connectionString: postgres.connectionString });
          await admin.connect();
          await admin.query(`CREATE DATABASE ${name}`);
          await admin.end();
          return combinationSetup(
            'storage-memory',
            transport,
            'store-postgres',
            postgres.database(name),
            2,
            redis.url,
          );
        },
      );
    }
  },
);

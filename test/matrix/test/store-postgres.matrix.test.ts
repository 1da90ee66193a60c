import { describeSync } from '@local-first/contract';
import {
  type PostgresInstance,
  postgresAvailable,
  postgresUnavailableReason,
  startPostgres,
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
    for (const transport of Object.keys(TRANSPORTS) as TransportName[]) {
      describeSync(combinationName(storage, transport, 'store-postgres'), async () =>
        combinationSetup(storage, transport, 'store-postgres', await freshDatabase()),
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

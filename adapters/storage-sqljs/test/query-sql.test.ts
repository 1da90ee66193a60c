import {
  type JsonValue,
  LocalFirstClient,
  type QueryOperator,
  type QuerySpec,
  Repository,
  type StoredRecord,
  silentLogger,
} from '@local-first/core';
import { evaluateQuery } from '@local-first/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlJsStorageAdapter } from '../src/index.js';
import { record, sqlJs } from './helpers.js';

// Printed so that any run, failing or not, can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[sqljs query] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

/** Values chosen to sit on every boundary of the rules: types, code points, null, absent. */
const SCALARS: JsonValue[] = [
  null,
  true,
  false,
  -1,
  0,
  0.5,
  1,
  2,
  '',
  'a',
  'B',
  '1',
  '\u00e9',
  '\uFFFD',
  '\u{1F600}',
];
const VALUES: (JsonValue | undefined)[] = [...SCALARS, [1], [1, 10], { x: 1 }, undefined];
const FIELDS = ['a', 'b', 'id', 'q"uote'];
const OPERATORS: QueryOperator[] = [
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  'not in',
  'is null',
  'is not null',
];

const recordArbitrary = fc
  .record({
    a: fc.constantFrom(...VALUES),
    b: fc.constantFrom(...VALUES),
    quoted: fc.constantFrom(...VALUES),
    tombstone: fc.boolean(),
  })
  .map(({ a, b, quoted, tombstone }) => ({ a, b, quoted, tombstone }));

const clauseArbitrary = fc
  .record({
    field: fc.constantFrom(...FIELDS),
    op: fc.constantFrom(...OPERATORS),
    value: fc.constantFrom(...SCALARS),
    list: fc.array(fc.constantFrom(...SCALARS), { maxLength: 4 }),
  })
  .map(({ field, op, value, list }) => {
    if (op === 'is null' || op === 'is not null') return { field, op };
    if (op === 'in' || op === 'not in') return { field, op, value: list };
    return { field, op, value };
  });

const specArbitrary: fc.Arbitrary<QuerySpec> = fc
  .record({
    where: fc.array(clauseArbitrary, { maxLength: 3 }),
    orderBy: fc.array(
      fc.record({ field: fc.constantFrom(...FIELDS), direction: fc.constantFrom('asc', 'desc') }),
      { maxLength: 2 },
    ),
    limit: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    offset: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    includeDeleted: fc.boolean(),
  })
  .map(({ limit, offset, ...rest }) => ({
    ...rest,
    ...(limit === undefined ? {} : { limit }),
    ...(offset === undefined ? {} : { offset }),
  }));

function build(rows: { a?: JsonValue; b?: JsonValue; quoted?: JsonValue; tombstone: boolean }[]) {
  return rows.map((row, index): StoredRecord => {
    const id = `r${String(index).padStart(2, '0')}`;
    if (row.tombstone) return { id, data: null, deleted: true, hlc: 'h', eventId: `e${index}` };
    const data: Record<string, JsonValue> = {};
    if (row.a !== undefined) data.a = row.a;
    if (row.b !== undefined) data.b = row.b;
    if (row.quoted !== undefined) data['q"uote'] = row.quoted;
    return record(id, data);
  });
}

describe('SQL queries against core evaluateQuery', () => {
  it('answers every generated query exactly as evaluateQuery does', async () => {
    const adapter = new SqlJsStorageAdapter({ sqlJs, indexes: { items: ['a', 'b'] } });
    await adapter.open();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArbitrary, { maxLength: 12 }),
        specArbitrary,
        async (rows, spec) => {
          const repository = `items-${run++}`;
          const records = build(rows);
          for (const item of records) await adapter.putRecord(repository, item);
          expect(await adapter.queryRecords(repository, spec)).toStrictEqual(
            evaluateQuery(records, spec),
          );
        },
      ),
      { seed, numRuns: 400 },
    );
    await adapter.close();
  });
});

describe('declared indexes', () => {
  const byField = (field: string, op: QueryOperator, value: JsonValue): QuerySpec => ({
    where: [{ field, op, value }],
    orderBy: [],
  });

  it('are created for the fields a repository declares, when the client opens', async () => {
    const adapter = new SqlJsStorageAdapter({ sqlJs });
    const tasks = new Repository<{ id: string; rank: number }>({
      name: 'tasks',
      indexes: ['rank'],
    });
    const client = new LocalFirstClient({
      repositories: [tasks],
      localStorage: adapter,
      logger: silentLogger,
    });
    await client.initialize();
    await tasks.upsert({ id: 'a', rank: 5 });
    const plan = (await adapter.explainQuery('tasks', byField('rank', '>', 3))).join('\n');
    expect(plan).toMatch(/USING INDEX field_72616e6b/);
    expect(await tasks.query().where('rank', '>', 3).get()).toEqual([{ id: 'a', rank: 5 }]);
    await client.dispose();
  });

  it('serve equality, range and in queries on the declared fields', async () => {
    const adapter = new SqlJsStorageAdapter({ sqlJs, indexes: { tasks: ['title', 'rank'] } });
    await adapter.open();
    const uses = (plan: string[]) => plan.join('\n');
    // The index is named after the field's UTF-8 bytes in hex: 7469746c65 is "title".
    expect(uses(await adapter.explainQuery('tasks', byField('title', '==', 'x')))).toMatch(
      /USING INDEX field_7469746c65/,
    );
    expect(uses(await adapter.explainQuery('tasks', byField('rank', '>', 3)))).toMatch(
      /USING INDEX field_72616e6b/,
    );
    expect(uses(await adapter.explainQuery('tasks', byField('title', 'in', ['a', 'b'])))).toMatch(
      /USING INDEX field_7469746c65/,
    );
    expect(uses(await adapter.explainQuery('tasks', byField('other', '==', 'x')))).not.toMatch(
      /field_/,
    );
    await adapter.close();
  });

  it('refuses to index a field name that no JSON path can spell', async () => {
    const adapter = new SqlJsStorageAdapter({ sqlJs, indexes: { tasks: ['a"b'] } });
    await expect(adapter.open()).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});

import {
  QUERY_OPERATORS,
  type QueryBuilder,
  type QuerySpec,
  type Repository,
  type WhereClause,
} from '@local-first/core';
import fc from 'fast-check';

// The model of the live-query property: random records over a few fields of mixed types,
// random steps that write them every way the client can, and random queries to watch.

/** Records of both repositories: scalar fields, any of them null or absent. */
export interface Item {
  [key: string]: string | number | boolean | null;
  id: string;
}

export type Fields = Partial<Record<'n' | 's' | 'b' | 'x', string | number | boolean | null>>;

/** The two repositories; the second one merges remote updates with a resolver. */
export const REPOSITORIES = ['items', 'others'] as const;
export const BASE_TIME = Date.parse('2025-01-23T10:00:00.000Z');
/** Local writes are stamped at this wall time; remote ones from 30 s before to 30 s after. */
export const LOCAL_TIME = BASE_TIME + 30_000;

const IDS = Array.from({ length: 64 }, (_, index) => `r${String(index).padStart(2, '0')}`);
const NUMBERS = [-2, -1, 0, 0.5, 1, 2, 3];
const STRINGS = ['', 'a', 'ab', 'B', 'b', 'é', '😀'];
const FIELDS = ['n', 's', 'b', 'x', 'id', 'missing'] as const;
const ORDER_FIELDS = ['n', 's', 'b', 'x', 'id'] as const;

const id = fc.constantFrom(...IDS);
/**
 * A batch: a few items, or any number up to `max` (past the 32 changes above which a live
 * query merges instead of splicing). fast-check's default size would stop near 10.
 */
const batch = <T>(item: fc.Arbitrary<T>, min: number, max: number) =>
  fc.oneof(
    fc.array(item, { minLength: min, maxLength: 6 }),
    fc.array(item, { minLength: min, maxLength: max, size: 'max' }),
  );
const repo = fc.constantFrom(0, 0, 1);
const scalar = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.constantFrom(...STRINGS),
  fc.boolean(),
  fc.constant(null),
);
const fields: fc.Arbitrary<Fields> = fc.record(
  {
    n: fc.oneof(fc.constantFrom(...NUMBERS), fc.constant(null)),
    s: fc.oneof(fc.constantFrom(...STRINGS), fc.constant(null)),
    b: fc.oneof(fc.boolean(), fc.constant(null)),
    x: scalar,
  },
  { requiredKeys: [] },
);

export type Write =
  | { op: 'upsert'; repo: number; id: string; fields: Fields }
  | { op: 'delete'; repo: number; id: string }
  | { op: 'upsertMany'; repo: number; items: { id: string; fields: Fields }[] }
  | { op: 'deleteMany'; repo: number; ids: string[] };
export type TxWrite = Write | { op: 'get'; repo: number; id: string };
export type RemoteEvent =
  | { type: 'put'; id: string; fields: Fields; tick: number }
  | { type: 'delete'; id: string; tick: number }
  /** An event already in the log again: a remote one, or one of this client's own. */
  | { type: 'again'; pick: number };
export type Step =
  | { kind: 'write'; write: Write }
  | { kind: 'tx'; writes: TxWrite[]; throws: boolean }
  | { kind: 'remote'; repo: number; events: RemoteEvent[] }
  | { kind: 'reject'; picks: number[] }
  | { kind: 'ack'; picks: number[] }
  | { kind: 'switch' }
  /** The remote takes read access away: the repository's records and events are dropped. */
  | { kind: 'revoke'; repo: number }
  /**
   * The first `count` records a watched query shows (from its first match, past its limit and
   * offset) deleted, or updated with `fields` in turn, locally or as a remote batch stamped
   * at `tick`: what removes a window's rows one after another.
   */
  | { kind: 'page'; query: number; count: number; fields?: Fields[]; remote?: number }
  /** Several steps started in one task, none awaited before the next starts. */
  | { kind: 'burst'; steps: Step[] };

const write: fc.Arbitrary<Write> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('upsert' as const), repo, id, fields }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), repo, id }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('upsertMany' as const),
      repo,
      items: batch(fc.record({ id, fields }), 0, 48),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('deleteMany' as const),
      repo,
      ids: batch(id, 0, 36),
    }),
  },
);
const txWrite: fc.Arbitrary<TxWrite> = fc.oneof(
  { weight: 5, arbitrary: write },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), repo, id }) },
);
const tick = fc.integer({ min: 0, max: 60 });
const remoteEvent: fc.Arbitrary<RemoteEvent> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('put' as const), id, fields, tick }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('delete' as const), id, tick }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('again' as const), pick: fc.nat() }) },
);
const picks = fc.array(fc.nat(), { minLength: 1, maxLength: 4 });

const simpleStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), write }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('tx' as const),
      writes: fc.array(txWrite, { minLength: 1, maxLength: 6, size: 'max' }),
      throws: fc.constantFrom(false, false, false, true),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('remote' as const),
      repo,
      events: batch(remoteEvent, 1, 50),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        kind: fc.constant('page' as const),
        query: fc.nat(),
        // A few, or enough to empty the window and the rows held past it (16 at least).
        count: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 14, max: 30 })),
        fields: fc.array(fields, { minLength: 1, maxLength: 3 }),
        remote: tick,
      },
      { requiredKeys: ['kind', 'query', 'count'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reject' as const), picks }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ack' as const), picks }) },
);
/** Many records at once, as a first step: enough matches that limited windows hold a part. */
export const fillArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant('write' as const),
  write: fc.record({
    op: fc.constant('upsertMany' as const),
    repo: fc.constant(0),
    items: fc.array(fc.record({ id, fields }), { minLength: 24, maxLength: 96, size: 'max' }),
  }),
});
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: simpleStep },
  { weight: 1, arbitrary: fc.constant({ kind: 'switch' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), repo }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      steps: fc.array(simpleStep, { minLength: 2, maxLength: 3 }),
    }),
  },
);

/** One watched query: which repository, the query, and the step before which it subscribes. */
export interface WatchedQuery {
  repo: number;
  spec: QuerySpec;
  startAt: number;
}

const value = (field: string) =>
  field === 'id' ? fc.oneof(id, scalar) : fc.oneof({ weight: 4, arbitrary: scalar }, id);
const clause: fc.Arbitrary<WhereClause> = fc
  .record({ field: fc.constantFrom(...FIELDS), op: fc.constantFrom(...QUERY_OPERATORS) })
  .chain(({ field, op }): fc.Arbitrary<WhereClause> => {
    if (op === 'is null' || op === 'is not null') return fc.constant({ field, op });
    if (op === 'in' || op === 'not in')
      return fc
        .array(value(field), { maxLength: 4 })
        .map((values) => ({ field, op, value: values }));
    return value(field).map((scalarValue) => ({ field, op, value: scalarValue }));
  });
const small = fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined });
export const querySpecArbitrary: fc.Arbitrary<QuerySpec> = fc
  .record({
    where: fc.oneof(
      { weight: 2, arbitrary: fc.array(clause, { maxLength: 0 }) },
      { weight: 2, arbitrary: fc.array(clause, { minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.array(clause, { minLength: 2, maxLength: 2 }) },
    ),
    orderBy: fc.uniqueArray(
      fc.record({
        field: fc.constantFrom(...ORDER_FIELDS),
        direction: fc.constantFrom('asc' as const, 'desc' as const),
      }),
      { maxLength: 2, selector: (order) => order.field },
    ),
    limit: small,
    offset: small,
    includeDeleted: fc.boolean(),
  })
  .map(({ limit, offset, includeDeleted, ...spec }) => ({
    ...spec,
    ...(limit === undefined ? {} : { limit }),
    ...(offset === undefined ? {} : { offset }),
    ...(includeDeleted ? { includeDeleted } : {}),
  }));
/** `startAt` past the last step subscribes after all of them. */
export const watchedArbitrary: fc.Arbitrary<WatchedQuery> = fc.record({
  repo,
  spec: querySpecArbitrary,
  startAt: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 }) },
  ),
});

/** The query of a spec, built through the public builder. */
export function buildQuery(repository: Repository<Item>, spec: QuerySpec): QueryBuilder<Item> {
  const query = repository.query();
  for (const { field, op, value: operand } of spec.where)
    (query.where as (field: string, op: string, value?: unknown) => unknown)(field, op, operand);
  for (const { field, direction } of spec.orderBy) query.orderBy(field, direction);
  if (spec.limit !== undefined) query.limit(spec.limit);
  if (spec.offset !== undefined) query.offset(spec.offset);
  if (spec.includeDeleted) query.includeDeleted();
  return query;
}

const json = (value: unknown) => JSON.stringify(value);

export function describeQuery(watched: WatchedQuery): string {
  const { spec } = watched;
  const where = spec.where
    .map(
      (clause) =>
        `${clause.field} ${clause.op}${'value' in clause ? ` ${json(clause.value)}` : ''}`,
    )
    .join(' and ');
  const parts = [
    `${REPOSITORIES[watched.repo]}`,
    where && `where ${where}`,
    spec.orderBy.length > 0 &&
      `orderBy ${spec.orderBy.map((order) => `${order.field} ${order.direction}`).join(', ')}`,
    spec.offset !== undefined && `offset ${spec.offset}`,
    spec.limit !== undefined && `limit ${spec.limit}`,
    spec.includeDeleted && 'includeDeleted',
  ];
  return `${parts.filter(Boolean).join(' ')} (subscribed before step ${watched.startAt})`;
}

function describeWrite(change: TxWrite): string {
  const name = REPOSITORIES[change.repo];
  switch (change.op) {
    case 'upsert':
      return `upsert ${name} ${json({ id: change.id, ...change.fields })}`;
    case 'delete':
      return `delete ${name} ${change.id}`;
    case 'get':
      return `getById ${name} ${change.id}`;
    case 'upsertMany':
      return `upsertMany ${name} [${change.items.map((item) => json({ id: item.id, ...item.fields })).join(', ')}]`;
    case 'deleteMany':
      return `deleteMany ${name} [${change.ids.join(', ')}]`;
  }
}

function describeEvent(event: RemoteEvent): string {
  if (event.type === 'again') return `again #${event.pick}`;
  if (event.type === 'delete') return `delete ${event.id} @${event.tick}`;
  return `put ${json({ id: event.id, ...event.fields })} @${event.tick}`;
}

/** A step as the failure report lists it; `queries`: how many are watched. */
export function describeStep(step: Step, queries: number): string {
  switch (step.kind) {
    case 'write':
      return describeWrite(step.write);
    case 'tx':
      return `transaction [${step.writes.map(describeWrite).join('; ')}]${step.throws ? ' then throws' : ''}`;
    case 'remote':
      return `remote ${REPOSITORIES[step.repo]} [${step.events.map(describeEvent).join(', ')}]`;
    case 'reject':
      return `reject pending #${step.picks.join(', #')}`;
    case 'ack':
      return `acknowledge local #${step.picks.join(', #')}`;
    case 'switch':
      return 'switch namespace';
    case 'revoke':
      return `revoke read access to ${REPOSITORIES[step.repo]}`;
    case 'page': {
      const what = step.fields ? `update with ${step.fields.map(json).join(' / ')}` : 'delete';
      const how = step.remote === undefined ? 'locally' : `remotely @${step.remote}`;
      return `${what} the first ${step.count} records of watched query #${step.query % queries}, ${how}`;
    }
    case 'burst':
      return `in one task: ${step.steps.map((inner) => describeStep(inner, queries)).join(' || ')}`;
  }
}

/** A line diff of expected and watched: `=` in both, `-` expected only, `+` watched only. */
function diff(expected: readonly Item[], actual: readonly Item[]): string {
  const a = expected.map((item) => JSON.stringify(item));
  const b = actual.map((item) => JSON.stringify(item));
  // common[i][j]: the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      common[i]![j] =
        a[i] === b[j]
          ? common[i + 1]![j + 1]! + 1
          : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(`  = ${a[i++]}`);
      j++;
    } else if (j >= b.length || (i < a.length && common[i + 1]![j]! >= common[i]![j + 1]!))
      lines.push(`  - ${a[i++]}`);
    else lines.push(`  + ${b[j++]}`);
  }
  return lines.join('\n') || '  (both empty)';
}

/** Where a run is: its steps, its queries and the step just run. */
export interface Place {
  steps: readonly Step[];
  queries: readonly WatchedQuery[];
  after: number;
}

/** The failure report: the problem, the query, the steps, the watched queries and the diff. */
export function report(
  problem: string,
  place: Place,
  index: number,
  values: readonly (readonly Item[])[],
  expected?: readonly Item[],
): string {
  const { steps, queries, after } = place;
  const list = steps
    .map(
      (step, position) =>
        `  ${position === after ? '→' : ' '} ${position}. ${describeStep(step, queries.length)}`,
    )
    .join('\n');
  const others = queries
    .map((watched, other) => `  ${other === index ? '→' : ' '} #${other} ${describeQuery(watched)}`)
    .join('\n');
  const latest = values.at(-1);
  const shown =
    expected === undefined
      ? ''
      : latest === undefined
        ? '\nthe watch emitted nothing'
        : `\nexpected (fresh get(), ${expected.length} items) vs watched (emission ${values.length}, ${latest.length} items):\n${diff(expected, latest)}`;
  const when = after < steps.length ? `after step ${after}` : 'after the last step';
  return `${problem}\nquery #${index}: ${describeQuery(queries[index]!)}\n${when}; steps:\n${list || '  (none)'}\nwatched queries:\n${others}${shown}`;
}

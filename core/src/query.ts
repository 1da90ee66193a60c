import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { JsonValue, StoredRecord } from './model.js';

/** The operators of `where`. */
export const QUERY_OPERATORS = [
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
] as const;
/** One of {@link QUERY_OPERATORS}. */
export type QueryOperator = (typeof QUERY_OPERATORS)[number];

/** One condition on a top-level field of the record (`id` is a field like any other). */
export interface WhereClause {
  /** The field the condition reads. */
  field: string;
  /** How the field is compared with `value`. */
  op: QueryOperator;
  /** A scalar for comparisons, an array for `in` / `not in`, absent for the null tests. */
  value?: JsonValue;
}

/** One sort key of a query; later keys break the ties of earlier ones. */
export interface OrderClause {
  /** The field to sort by. */
  field: string;
  /** Ascending or descending. */
  direction: 'asc' | 'desc';
}

/**
 * A query over one repository, as adapters receive it. Semantics every adapter must follow
 * (the contract suite checks them):
 * - a field that is absent counts as `null`;
 * - `==`, `<`, `<=`, `>`, `>=` and `in` never match `null`; `!=` and `not in` do;
 * - comparisons only match values of the same type (number with number, string with string,
 *   boolean with boolean); strings compare by Unicode code point;
 * - ordering puts `null` first, then booleans, numbers, strings, other values (as JSON text);
 *   `desc` reverses that; ties are broken by record id ascending;
 * - with no `orderBy`, records come by id ascending;
 * - tombstones are left out unless `includeDeleted`; they have no fields but `id`.
 */
export interface QuerySpec {
  /** Conditions a record must all meet. */
  where: WhereClause[];
  /** Sort keys, most significant first. */
  orderBy: OrderClause[];
  /** Most records to return, after `offset`. */
  limit?: number;
  /** How many of the sorted matches to skip. */
  offset?: number;
  /** Whether tombstones are returned too. */
  includeDeleted?: boolean;
}

type Scalar = null | boolean | number | string;

/** The value of a top-level field, with absent, undefined and tombstoned all read as null. */
export function fieldValue(record: StoredRecord, field: string): JsonValue {
  if (field === 'id') return record.id;
  // Own fields only: `constructor` or `toString` inherited from Object.prototype are absent.
  if (!record.data || !Object.hasOwn(record.data, field)) return null;
  const value = record.data[field];
  return value === undefined ? null : value;
}

function typeRank(value: JsonValue): number {
  if (value === null) return 0;
  switch (typeof value) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return 4;
  }
}

/** Compares strings by Unicode code point, as SQLite compares UTF-8 bytes. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order is code point order except between a surrogate and a unit above them.
    const xHigh = x >= 0xd800 && x <= 0xdfff;
    const yHigh = y >= 0xd800 && y <= 0xdfff;
    if (xHigh === yHigh || (x < 0xd800 && y < 0xd800)) return x - y;
    return xHigh ? 1 : -1;
  }
  return a.length - b.length;
}

/** The total order of field values used by `orderBy`. */
export function compareValues(a: JsonValue, b: JsonValue): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return rank;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a === null) return 0;
  return compareCodePoints(JSON.stringify(a), JSON.stringify(b));
}

function sameType(a: JsonValue, b: JsonValue): boolean {
  return a !== null && b !== null && typeRank(a) === typeRank(b) && typeRank(a) < 4;
}

function equals(a: JsonValue, b: JsonValue): boolean {
  return sameType(a, b) && a === b;
}

/** True when the record satisfies one clause. */
export function matchesClause(record: StoredRecord, clause: WhereClause): boolean {
  const actual = fieldValue(record, clause.field);
  const expected = clause.value ?? null;
  switch (clause.op) {
    case 'is null':
      return actual === null;
    case 'is not null':
      return actual !== null;
    case '==':
      return equals(actual, expected);
    case '!=':
      return !equals(actual, expected);
    case 'in':
      return (expected as JsonValue[]).some((candidate) => equals(actual, candidate));
    case 'not in':
      return !(expected as JsonValue[]).some((candidate) => equals(actual, candidate));
    default: {
      if (!sameType(actual, expected)) return false;
      const order = compareValues(actual, expected);
      if (clause.op === '<') return order < 0;
      if (clause.op === '<=') return order <= 0;
      if (clause.op === '>') return order > 0;
      return order >= 0;
    }
  }
}

/** Rejects malformed queries with `invalid_query`, before any adapter sees them. */
export function validateQuery(spec: QuerySpec): void {
  const fail = (message: string): never => {
    throw new LocalFirstError(ERROR_CODES.invalidQuery, message);
  };
  for (const clause of spec.where) {
    if (typeof clause.field !== 'string' || clause.field === '') fail('where needs a field name');
    if (!QUERY_OPERATORS.includes(clause.op)) fail(`unknown operator "${String(clause.op)}"`);
    if (clause.op === 'in' || clause.op === 'not in') {
      if (!Array.isArray(clause.value)) fail(`"${clause.op}" needs an array of values`);
      for (const item of clause.value as JsonValue[]) {
        if (item !== null && typeof item === 'object') fail(`"${clause.op}" takes scalar values`);
      }
    } else if (clause.op !== 'is null' && clause.op !== 'is not null') {
      const value = clause.value as Scalar | object | undefined;
      if (value === undefined) fail(`"${clause.op}" needs a value`);
      if (value !== null && typeof value === 'object') fail(`"${clause.op}" takes a scalar value`);
    }
  }
  for (const order of spec.orderBy) {
    if (typeof order.field !== 'string' || order.field === '') fail('orderBy needs a field name');
    if (order.direction !== 'asc' && order.direction !== 'desc') {
      fail(`orderBy direction must be "asc" or "desc"`);
    }
  }
  for (const [name, value] of [
    ['limit', spec.limit],
    ['offset', spec.offset],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      fail(`${name} must be a non-negative integer`);
    }
  }
}

/** Sort comparator for a query's `orderBy`, ties broken by id. */
export function recordComparator(
  orderBy: readonly OrderClause[],
): (a: StoredRecord, b: StoredRecord) => number {
  return (a, b) => {
    for (const order of orderBy) {
      const result = compareValues(fieldValue(a, order.field), fieldValue(b, order.field));
      if (result !== 0) return order.direction === 'asc' ? result : -result;
    }
    return compareCodePoints(a.id, b.id);
  };
}

/**
 * Runs a query over records held in JavaScript. Adapters without a query engine of their own
 * use this, so that every adapter answers a query the same way.
 */
export function evaluateQuery(records: Iterable<StoredRecord>, spec: QuerySpec): StoredRecord[] {
  const matching: StoredRecord[] = [];
  for (const record of records) {
    if (record.deleted && !spec.includeDeleted) continue;
    if (spec.where.every((clause) => matchesClause(record, clause))) matching.push(record);
  }
  matching.sort(recordComparator(spec.orderBy));
  const start = spec.offset ?? 0;
  const end = spec.limit === undefined ? undefined : start + spec.limit;
  return matching.slice(start, end);
}

/**
 * The only record ids a query can match when one of its clauses pins the record id (`id ==`
 * or `id in`), so an adapter can look those records up instead of reading them all; `undefined`
 * when no clause does. The query must still be evaluated over what is found.
 */
export function candidateIds(spec: QuerySpec): string[] | undefined {
  let ids: string[] | undefined;
  for (const clause of spec.where) {
    if (clause.field !== 'id') continue;
    let pinned: string[] | undefined;
    if (clause.op === '==') pinned = typeof clause.value === 'string' ? [clause.value] : [];
    else if (clause.op === 'in' && Array.isArray(clause.value))
      pinned = clause.value.filter((value): value is string => typeof value === 'string');
    if (pinned === undefined) continue;
    ids = ids === undefined ? pinned : ids.filter((id) => pinned.includes(id));
  }
  return ids === undefined ? undefined : [...new Set(ids)];
}

import {
  ERROR_CODES,
  type JsonValue,
  LocalFirstError,
  type QuerySpec,
  type WhereClause,
} from '@local-first/core';
import type { SqlValue } from './types.js';

/**
 * Translates a `QuerySpec` into SQL over the `records` table with the exact semantics of core's
 * `evaluateQuery`. The value of a field comes from `json_extract` and its JSON type from
 * `json_type`: `json_extract` alone cannot tell `true` from `1`, nor a JSON `null` from an
 * absent field, and comparisons must only match values of the same type. Strings compare with
 * SQLite's BINARY collation, which on UTF-8 is Unicode code point order, as core's
 * `compareCodePoints`.
 */

/** The SQL expressions that read one field of a record. */
interface FieldSql {
  /** The field's value: numbers, text, 1/0 for booleans, JSON text for arrays and objects. */
  value: string;
  /** The JSON type name of the field (`null`, `true`, `integer`, `text`…), NULL when absent. */
  type: string;
  /** False for `id`, which is a text column rather than a JSON field. */
  json: boolean;
}

type Kind = 'boolean' | 'number' | 'string';

/** Quotes text as an SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Field names that a JSON path can spell. Inside `$."…"` SQLite gives `"` and `\` a meaning,
 * and control characters (NUL above all) cannot travel inside SQL text.
 */
function pathSafe(field: string): boolean {
  for (const char of field) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\' || code < 0x20) return false;
  }
  return true;
}

/** The expression an index over `field` is built on; `undefined` when none can be. */
export function indexedExpression(field: string): string | undefined {
  if (field === 'id' || !pathSafe(field)) return undefined;
  return `json_extract(data, ${literal(`$."${field}"`)})`;
}

/** Collects bound values and names each one `?N`, so an expression may use it twice. */
class Params {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return `?${this.values.length}`;
  }
}

function fieldSql(field: string, params: Params): FieldSql {
  if (field === 'id') return { value: 'id', type: `'text'`, json: false };
  const expression = indexedExpression(field);
  if (expression !== undefined) {
    const path = literal(`$."${field}"`);
    // Written exactly as the index expression, so that SQLite can match the two.
    return { value: expression, type: `json_type(data, ${path})`, json: true };
  }
  // Names no path can spell are looked up by key; this cannot use an index, but stays exact.
  const key = params.add(field);
  return {
    value: `(SELECT value FROM json_each(data) WHERE key = ${key})`,
    type: `(SELECT type FROM json_each(data) WHERE key = ${key})`,
    json: true,
  };
}

function kindOf(value: JsonValue): Kind | undefined {
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    default:
      return undefined;
  }
}

/** A condition that the field holds a value of `kind`; `undefined` when that is always true. */
function typeIs(field: FieldSql, kind: Kind): string | undefined {
  if (!field.json) return kind === 'string' ? undefined : '0';
  if (kind === 'string') return `${field.type} = 'text'`;
  if (kind === 'number') return `${field.type} IN ('integer', 'real')`;
  return `${field.type} IN ('true', 'false')`;
}

/** The bound form of a scalar: booleans as the 1/0 that `json_extract` returns for them. */
function bound(value: boolean | number | string, params: Params): string {
  return params.add(typeof value === 'boolean' ? Number(value) : value);
}

/** `field <op> value` for one scalar, matching only a value of the same type. */
function compare(field: FieldSql, op: string, value: JsonValue, params: Params): string {
  const kind = kindOf(value);
  if (kind === undefined) return '0';
  const guard = typeIs(field, kind);
  if (guard === '0') return '0';
  const term = `${field.value} ${op} ${bound(value as boolean | number | string, params)}`;
  return guard === undefined ? term : `${guard} AND ${term}`;
}

/** `field IN (…)`, grouping the candidates by type so each group compares like with like. */
function memberOf(field: FieldSql, values: readonly JsonValue[], params: Params): string {
  const groups: string[] = [];
  for (const kind of ['boolean', 'number', 'string'] as const) {
    const members = values.filter((value) => kindOf(value) === kind) as (
      | boolean
      | number
      | string
    )[];
    const guard = typeIs(field, kind);
    if (members.length === 0 || guard === '0') continue;
    const term = `${field.value} IN (${members.map((value) => bound(value, params)).join(', ')})`;
    groups.push(guard === undefined ? term : `(${guard} AND ${term})`);
  }
  if (groups.length === 0) return '0';
  return groups.length === 1 ? groups[0]! : `(${groups.join(' OR ')})`;
}

/** Negation that treats SQL NULL (an unknown) as "did not match". */
function not(condition: string): string {
  return `NOT COALESCE((${condition}), 0)`;
}

function clauseSql(clause: WhereClause, params: Params): string {
  const field = fieldSql(clause.field, params);
  const value = clause.value ?? null;
  switch (clause.op) {
    case 'is null':
      return `COALESCE(${field.type}, 'null') = 'null'`;
    case 'is not null':
      return `COALESCE(${field.type}, 'null') <> 'null'`;
    case '==':
      return compare(field, '=', value, params);
    case '!=':
      return not(compare(field, '=', value, params));
    case 'in':
      return memberOf(field, value as JsonValue[], params);
    case 'not in':
      return not(memberOf(field, value as JsonValue[], params));
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(field, clause.op, value, params);
    default:
      throw new LocalFirstError(
        ERROR_CODES.invalidQuery,
        `unknown operator "${String(clause.op)}"`,
      );
  }
}

/** The rank of a value's type in the order null < boolean < number < string < other. */
function typeRank(field: FieldSql): string {
  return (
    `CASE COALESCE(${field.type}, 'null') WHEN 'null' THEN 0 WHEN 'true' THEN 1 ` +
    `WHEN 'false' THEN 1 WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 ELSE 4 END`
  );
}

/** A SELECT over one repository of one namespace, with its parameters in order. */
export interface RecordSelect {
  sql: string;
  params: SqlValue[];
}

/** The columns every record query reads, in the order `rowToRecord` expects. */
export const RECORD_COLUMNS = 'id, data, deleted, hlc, event_id';

/** Operators that an index on the field can answer. */
const SEEKING = new Set(['==', 'in', '<', '<=', '>', '>=']);

/**
 * `indexed` names the fields that have an expression index. When a clause can seek one, the
 * final `id` tie-break is written `+id`: SQLite would otherwise walk the primary key, which
 * gives id order for free, and filter every record of the repository instead of seeking.
 */
export function selectRecords(
  namespace: string,
  repository: string,
  spec: QuerySpec,
  indexed: ReadonlySet<string> = new Set(),
): RecordSelect {
  const params = new Params();
  const where = [`ns = ${params.add(namespace)}`, `repo = ${params.add(repository)}`];
  if (!spec.includeDeleted) where.push('deleted = 0');
  for (const clause of spec.where) where.push(clauseSql(clause, params));
  const order: string[] = [];
  for (const { field: name, direction } of spec.orderBy) {
    const field = fieldSql(name, params);
    const dir = direction === 'desc' ? 'DESC' : 'ASC';
    // A bare integer in ORDER BY names a result column, so `id` (always text) gets no rank.
    if (field.json) order.push(`${typeRank(field)} ${dir}`);
    order.push(`${field.value} ${dir}`);
  }
  const seeks = spec.where.some((clause) => SEEKING.has(clause.op) && indexed.has(clause.field));
  order.push(seeks ? '+id ASC' : 'id ASC');
  const limit = params.add(spec.limit ?? -1);
  const offset = params.add(spec.offset ?? 0);
  const sql =
    `SELECT ${RECORD_COLUMNS} FROM records WHERE ${where.join(' AND ')} ` +
    `ORDER BY ${order.join(', ')} LIMIT ${limit} OFFSET ${offset}`;
  return { sql, params: params.values };
}

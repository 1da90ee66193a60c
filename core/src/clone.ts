/**
 * A deep copy of a JSON-shaped value (objects, arrays, strings, numbers, booleans, null).
 * Several times faster than `structuredClone` for records, which sit on every write path.
 * Values that are not JSON (Dates, Maps, class instances) are copied as plain objects of their
 * own enumerable fields, as JSON would see them.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = cloneJson(value[i]);
    return copy as T;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) copy[key] = cloneJson(field);
  }
  return copy as T;
}

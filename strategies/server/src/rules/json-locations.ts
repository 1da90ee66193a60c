/**
 * A JSON reader that remembers where each value starts, so that an error about a rules file
 * can name its line and column. It accepts exactly what `JSON.parse` accepts.
 */

import { ERROR_CODES, LocalFirstError } from '@local-first/core';

/** Where a value of the file starts: 1-based line and column. */
export interface Location {
  /** The line, from 1. */
  line: number;
  /** The column, from 1. */
  column: number;
}

/** A path into the document: object keys and array indexes. */
export type JsonPath = readonly (string | number)[];

/**
 * JSON that cannot be read, as `parseJsonWithLocations` throws it: code `invalid_rules`,
 * `details` holding what is wrong (`problem`) and where reading stopped (`line`, `column`).
 */
export function jsonSyntaxError(problem: string, location: Location): LocalFirstError {
  return new LocalFirstError(
    ERROR_CODES.invalidRules,
    `${problem} at line ${location.line}, column ${location.column}`,
    { details: { problem, ...location } },
  );
}

export interface LocatedJson {
  value: unknown;
  /** Where the value at `path` starts; the nearest enclosing value's place when it is absent. */
  locate(path: JsonPath): Location;
}

export function parseJsonWithLocations(text: string): LocatedJson {
  const starts = new Map<string, number>();
  let at = 0;

  const locationOf = (offset: number): Location => {
    let line = 1;
    let lineStart = 0;
    for (let index = 0; index < offset && index < text.length; index++) {
      if (text[index] === '\n') {
        line += 1;
        lineStart = index + 1;
      }
    }
    return { line, column: offset - lineStart + 1 };
  };
  const fail = (message: string): never => {
    throw jsonSyntaxError(message, locationOf(at));
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at += 1;
  };
  const key = (path: JsonPath) => JSON.stringify(path);

  const readString = (): string => {
    const start = at;
    at += 1;
    while (at < text.length && text[at] !== '"') {
      const code = text.charCodeAt(at);
      if (code < 0x20) fail('a control character in a string');
      at += text[at] === '\\' ? 2 : 1;
    }
    if (at >= text.length) fail('a string that does not end');
    at += 1;
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      at = start;
      return fail('a malformed string');
    }
  };

  const readValue = (path: JsonPath): unknown => {
    space();
    starts.set(key(path), at);
    const char = text[at];
    if (char === '{') {
      at += 1;
      const object: Record<string, unknown> = {};
      space();
      if (text[at] === '}') {
        at += 1;
        return object;
      }
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a property name in double quotes');
        const name = readString();
        space();
        if (text[at] !== ':') fail(`expected ":" after "${name}"`);
        at += 1;
        object[name] = readValue([...path, name]);
        space();
        if (text[at] === ',') {
          at += 1;
          continue;
        }
        if (text[at] === '}') {
          at += 1;
          return object;
        }
        fail('expected "," or "}"');
      }
    }
    if (char === '[') {
      at += 1;
      const array: unknown[] = [];
      space();
      if (text[at] === ']') {
        at += 1;
        return array;
      }
      for (;;) {
        array.push(readValue([...path, array.length]));
        space();
        if (text[at] === ',') {
          at += 1;
          continue;
        }
        if (text[at] === ']') {
          at += 1;
          return array;
        }
        fail('expected "," or "]"');
      }
    }
    if (char === '"') return readString();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      text.slice(at, at + 400),
    );
    if (!literal)
      return fail(at >= text.length ? 'the file ends early' : 'an unexpected character');
    at += literal[0].length;
    return JSON.parse(literal[0]) as unknown;
  };

  const value = readValue([]);
  space();
  if (at < text.length) fail('more after the end of the document');
  return {
    value,
    locate(path) {
      for (let length = path.length; length >= 0; length--) {
        const offset = starts.get(key(path.slice(0, length)));
        if (offset !== undefined) return locationOf(offset);
      }
      return { line: 1, column: 1 };
    },
  };
}

// The wire of the NDJSON transport: one UTF-8 line per frame, ended by `\n`.
//
// - A line holding a JSON object is a protocol message.
// - A line holding a JSON array that starts with a known name is a line of the transport itself:
//   `["hello", headers]` (the client's first line), `["welcome"]` (the server's answer) and
//   `["close", code, reason]` (the close frame TCP does not have).
// - Anything else is an invalid frame.

import { ERROR_CODES, LocalFirstError } from '@local-first/core';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** A line of the transport itself; it never reaches the engine or the strategy. */
export type Control =
  | { name: 'hello'; headers: Record<string, string> }
  | { name: 'welcome' }
  | { name: 'close'; code: number; reason: string };

/** One line, decoded. */
export type Line =
  | { kind: 'message'; message: object }
  | { kind: 'control'; control: Control }
  | { kind: 'invalid'; problem: string };

/** A protocol message as one line. A value JSON cannot carry is the caller's mistake. */
export function encodeMessage(message: object): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(message);
  } catch (error) {
    throw new LocalFirstError(ERROR_CODES.invalidArgument, 'the message is not JSON-serializable', {
      cause: error,
    });
  }
  if (typeof text !== 'string' || !text.startsWith('{'))
    throw new LocalFirstError(ERROR_CODES.invalidArgument, 'the message is not a JSON object');
  // JSON.stringify escapes every newline inside strings, so the text is one line.
  return `${text}\n`;
}

/** A control as one line. */
export function encodeControl(control: Control): string {
  switch (control.name) {
    case 'hello':
      return `${JSON.stringify(['hello', control.headers])}\n`;
    case 'welcome':
      return '["welcome"]\n';
    case 'close':
      return `${JSON.stringify(['close', control.code, control.reason])}\n`;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes one line (without its `\n`). Never throws: a bad line is reported as `invalid`. */
export function decodeLine(bytes: Uint8Array): Line {
  const end = bytes.at(-1) === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(0, end));
  } catch {
    return { kind: 'invalid', problem: 'the line is not UTF-8 text' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'invalid', problem: 'the line is not JSON' };
  }
  if (Array.isArray(parsed)) {
    const control = controlOf(parsed);
    return control
      ? { kind: 'control', control }
      : { kind: 'invalid', problem: 'the line is an array that names no control line' };
  }
  if (typeof parsed !== 'object' || parsed === null)
    return { kind: 'invalid', problem: 'the line is not a JSON object' };
  return { kind: 'message', message: parsed };
}

function controlOf(line: unknown[]): Control | undefined {
  const [name, first, second] = line;
  if (name === 'welcome' && line.length === 1) return { name };
  if (name === 'close' && Number.isInteger(first) && typeof second === 'string')
    return { name, code: first as number, reason: second };
  if (name === 'hello' && typeof first === 'object' && first !== null && !Array.isArray(first)) {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(first)) {
      if (typeof value === 'string') headers[key.toLowerCase()] = value;
    }
    return { name, headers };
  }
  return undefined;
}

/** What one chunk of the socket held. */
export interface Split {
  /** The lines it completed, without their `\n`. */
  lines: Buffer[];
  /** A line passed the limit: the lines before it are in `lines`, the rest is to be dropped. */
  tooLarge: boolean;
}

/**
 * Cuts the byte stream of a socket into lines. TCP keeps no message boundaries: one chunk may
 * hold many lines, and one line may come in many chunks, so the unfinished tail is held until
 * its `\n` arrives. A line longer than `maxBytes` is refused as soon as the held part passes the
 * limit, without waiting for its end.
 */
export class LineSplitter {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Split {
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const bytes = this.heldBytes + end - start;
      if (bytes > this.maxBytes) return { lines, tooLarge: true };
      const piece = chunk.subarray(start, end);
      lines.push(this.held.length === 0 ? piece : Buffer.concat([...this.held, piece], bytes));
      this.held = [];
      this.heldBytes = 0;
      start = end + 1;
    }
    if (start < chunk.length) {
      this.held.push(chunk.subarray(start));
      this.heldBytes += chunk.length - start;
    }
    return { lines, tooLarge: this.heldBytes > this.maxBytes };
  }
}

import type { SqlValue } from './types.js';

const encoder = new TextEncoder();

/**
 * Long text as UTF-8 bytes, for a statement to bind as a blob that the SQL turns back into
 * text with `CAST(? AS TEXT)` (SQLite reads a blob cast to text as UTF-8, the database's
 * encoding). sql.js copies a blob into its memory in one go, but encodes a string one
 * character at a time in JavaScript: for the JSON of events and records this is the larger
 * part of writing them.
 *
 * Only for text that is well-formed Unicode, such as the output of `JSON.stringify` (which
 * escapes lone surrogates): `TextEncoder` replaces a lone surrogate where sql.js would not,
 * so the same text bound both ways would otherwise differ.
 *
 * The bytes of one statement share one buffer: `clear()` starts over, which is safe once the
 * previous statement has been bound (binding copies the bytes).
 */
export class TextBytes {
  private buffer = new Uint8Array(INITIAL_BYTES);
  private used = 0;

  clear(): void {
    this.used = 0;
  }

  /** `text` as bytes, or `null` for `null`. */
  encode(text: string | null): SqlValue {
    if (text === null) return null;
    if (text === '') return text;
    // UTF-8 takes at most three bytes per UTF-16 code unit.
    if (this.used + text.length * 3 > this.buffer.length) {
      // Views handed out before keep the old buffer alive until they are bound.
      this.buffer = new Uint8Array(Math.max(this.buffer.length * 2, text.length * 3));
      this.used = 0;
    }
    const start = this.used;
    const { written } = encoder.encodeInto(text, this.buffer.subarray(start));
    this.used = start + written;
    return new Uint8Array(this.buffer.buffer, start, written);
  }
}

/** Room for the JSON of one full statement of typical events before the buffer grows. */
const INITIAL_BYTES = 256 * 1024;

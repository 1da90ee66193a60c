import { type StoredEvent, toWireEvent } from './model.js';

/** Node's native count, where there is one: several times faster than counting in JS. */
const nativeByteLength = (
  globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }
).Buffer?.byteLength;

/** Bytes of a string once encoded as UTF-8, counted without encoding it. */
export function utf8Length(text: string): number {
  if (nativeByteLength) return nativeByteLength(text, 'utf8');
  return countUtf8(text);
}

/** The count in JS, for platforms without Node's `Buffer` (browsers). */
export function countUtf8(text: string): number {
  let bytes = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      // A surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes.
      bytes += 2;
      index++;
    } else bytes += 2;
  }
  return bytes;
}

// A local write is sized when it is checked and again when it is batched, as the same object:
// measured once.
const sized = new WeakMap<StoredEvent, number>();

/** Bytes of an event in a `push_events_batch` frame. */
export function eventBytes(event: StoredEvent): number {
  let bytes = sized.get(event);
  if (bytes === undefined) {
    bytes = utf8Length(JSON.stringify(toWireEvent(event)));
    sized.set(event, bytes);
  }
  return bytes;
}

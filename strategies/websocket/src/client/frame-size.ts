import { type StoredEvent, toWireEvent } from '@local-first/core';

/** Bytes of a string once encoded as UTF-8, counted without encoding it. */
export function utf8Length(text: string): number {
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

/** Bytes of an event in a `push_events_batch` frame. */
export function eventBytes(event: StoredEvent): number {
  return utf8Length(JSON.stringify(toWireEvent(event)));
}

/** Bytes of a `push_events_batch` frame around its events (the envelope, with `[]`). */
export function envelopeBytes(repository: string, requestId: string): number {
  return utf8Length(
    JSON.stringify({ type: 'push_events_batch', repository, requestId, events: [] }),
  );
}

/** What a batch may hold: the frame limit in bytes and the most events. */
export interface BatchLimits {
  maxFrameBytes: number;
  maxBatchEvents: number;
}

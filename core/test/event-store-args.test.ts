import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { decodeStoredEvent, encodeStoredEvent, isoFromMs } from '../src/event-store-args.js';

const event = {
  eventId: 'e-1',
  operation: 0 as const,
  createdAt: '2024-05-01T00:00:00.000Z',
  dataId: 't-1',
  data: { id: 't-1', extra: [1, { deep: true }] },
  hlc: '0001714521600000:00000:abc',
};

describe('the stored JSON form of events', () => {
  it('stores what the client sent, extra fields included, without the server fields', () => {
    const withExtra = { ...event, futureField: 'kept' };
    expect(JSON.parse(encodeStoredEvent(withExtra))).toStrictEqual(withExtra);
    const fromServer = { ...event, serverSequence: 4, serverCreatedAt: '2024-05-01T00:00:01.000Z' };
    expect(JSON.parse(encodeStoredEvent(fromServer))).toStrictEqual(event);
  });

  it('refuses an event that is not JSON with invalid_event', () => {
    expect(() => encodeStoredEvent({ ...event, data: { n: 1n as unknown as number } })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.invalidEvent }),
    );
  });

  it('reads an event back with the server fields set, and a new object each time', () => {
    const payload = encodeStoredEvent(event);
    const ms = Date.UTC(2024, 4, 1, 0, 0, 1);
    const first = decodeStoredEvent(payload, 7, ms);
    expect(first).toStrictEqual({
      ...event,
      serverSequence: 7,
      serverCreatedAt: '2024-05-01T00:00:01.000Z',
    });
    expect(decodeStoredEvent(payload, 7, ms)).not.toBe(first);
  });

  it('formats server times as ISO, the same time twice and a new one after', () => {
    expect(isoFromMs(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoFromMs(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoFromMs(1)).toBe('1970-01-01T00:00:00.001Z');
  });
});

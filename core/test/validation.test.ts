import { describe, expect, it } from 'vitest';
import { validateEvent } from '../src/validation.js';

const base = {
  eventId: 'e1',
  operation: 0,
  createdAt: '2025-01-23T10:00:00.000Z',
  dataId: 'r1',
  data: { id: 'r1' },
};

describe('validateEvent', () => {
  it('accepts well-formed inserts, updates and deletes, returning them unchanged', () => {
    for (const event of [
      base,
      { ...base, operation: 1 },
      { ...base, operation: 2, data: null },
      { ...base, operation: 2, data: undefined },
      {
        ...base,
        hlc: '0000000000000001:00000:n',
        serverSequence: 3,
        serverCreatedAt: base.createdAt,
      },
    ]) {
      const result = validateEvent(event);
      expect(result).toEqual({ ok: true, event });
      if (result.ok) expect(result.event).toBe(event);
    }
  });

  it.each([
    ['not an object', 'x', undefined],
    ['an array', [base], undefined],
    ['no eventId', { ...base, eventId: undefined }, undefined],
    ['an empty eventId', { ...base, eventId: '' }, undefined],
    ['a numeric eventId', { ...base, eventId: 5 }, undefined],
    ['no dataId', { ...base, dataId: undefined }, 'e1'],
    ['a bad operation', { ...base, operation: 3 }, 'e1'],
    ['operation as a string', { ...base, operation: '0' }, 'e1'],
    ['data missing on insert', { ...base, data: undefined }, 'e1'],
    ['data as an array', { ...base, data: [1] }, 'e1'],
    ['data as a string on delete', { ...base, operation: 2, data: 'x' }, 'e1'],
    ['hlc not a string', { ...base, hlc: 5 }, 'e1'],
    ['a negative serverSequence', { ...base, serverSequence: -1 }, 'e1'],
    ['a fractional serverSequence', { ...base, serverSequence: 1.5 }, 'e1'],
  ])('rejects %s', (_label, value, eventId) => {
    const result = validateEvent(value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.eventId).toBe(eventId);
      expect(result.message).not.toBe('');
    }
  });
});

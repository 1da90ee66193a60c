import { describe, expect, it } from 'vitest';
import { randomId, uuidv7 } from '../src/id.js';

describe('ids', () => {
  it('uuidv7 has the version 7 layout, the time in front, and sorts by time', () => {
    const id = uuidv7(Date.parse('2025-01-23T10:00:00.000Z'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.slice(0, 13)).toBe('0194929a-b500');
    expect(uuidv7(1_000) < uuidv7(2_000)).toBe(true);
  });

  it('never repeats across many ids, also across refills of the random pool', () => {
    const ids = new Set(Array.from({ length: 5_000 }, () => uuidv7(42)));
    expect(ids.size).toBe(5_000);
    const clients = new Set(Array.from({ length: 1_000 }, () => randomId()));
    expect(clients.size).toBe(1_000);
    expect(randomId()).toMatch(/^[0-9a-f]{16}$/);
  });
});

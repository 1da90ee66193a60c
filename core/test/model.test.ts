import { describe, expect, it } from 'vitest';
import { toWireEvent } from '../src/model.js';

describe('toWireEvent', () => {
  it('drops the local bookkeeping and keeps every wire field that is set', () => {
    const stored = {
      eventId: 'e-1',
      operation: 1 as const,
      createdAt: '2024-05-01T00:00:00.000Z',
      dataId: 't-1',
      data: { id: 't-1', title: 'x' },
      hlc: '0001714521600000:00000:abc',
      serverSequence: 7,
      serverCreatedAt: '2024-05-01T00:00:01.000Z',
      repository: 'tasks',
      syncStatus: 'ok' as const,
      local: false,
    };
    const { repository: _r, syncStatus: _s, local: _l, ...wire } = stored;
    expect(toWireEvent(stored)).toStrictEqual(wire);
    const { hlc: _h, serverSequence: _q, serverCreatedAt: _c, ...bare } = stored;
    expect(toWireEvent(bare)).toStrictEqual({
      eventId: 'e-1',
      operation: 1,
      createdAt: '2024-05-01T00:00:00.000Z',
      dataId: 't-1',
      data: { id: 't-1', title: 'x' },
    });
  });
});

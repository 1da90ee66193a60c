import type { StoredEvent } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { PushQueue } from '../src/client/push-queue.js';

function events(from: number, count: number, repository = 'tasks'): StoredEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    eventId: `e-${String(from + index).padStart(3, '0')}`,
    operation: 0 as const,
    createdAt: '2024-05-01T00:00:00.000Z',
    dataId: `t-${from + index}`,
    data: { id: `t-${from + index}` },
    repository,
    syncStatus: 'pending' as const,
    local: true,
  }));
}

/** A queue whose sends are recorded as lists of event ids. */
function recorded(batchSize: number, inFlight = 2) {
  const sent: string[][] = [];
  const queue = new PushQueue(
    (_repository, batch) => sent.push(batch.map((event) => event.eventId)),
    batchSize,
    inFlight,
  );
  return { queue, sent };
}

describe('PushQueue', () => {
  it('keeps two batches in flight and sends the next as each is acknowledged', () => {
    const { queue, sent } = recorded(2);
    queue.add(events(1, 5));
    expect(sent).toEqual([
      ['e-001', 'e-002'],
      ['e-003', 'e-004'],
    ]);
    queue.acknowledged(['e-001', 'e-002']);
    expect(sent.at(-1)).toEqual(['e-005']);
    expect(queue.size).toBe(3);
    queue.acknowledged(['e-004', 'e-003']);
    queue.acknowledged(['e-005']);
    expect(queue.size).toBe(0);
    expect(sent).toHaveLength(3);
  });

  it('finds the batch an ack answers by its events, rejected ones included', () => {
    const { queue, sent } = recorded(2);
    queue.add(events(1, 6));
    // The second batch is answered first, by the id of an event the server rejected.
    queue.acknowledged(['e-003', 'e-004']);
    expect(sent.at(-1)).toEqual(['e-005', 'e-006']);
    queue.acknowledged(['e-002', 'e-001']);
    queue.acknowledged(['e-005', 'e-006']);
    expect(queue.size).toBe(0);
  });

  it('sends one batch at a time with maxInFlight 1', () => {
    const { queue, sent } = recorded(2, 1);
    queue.add(events(1, 4));
    expect(sent).toHaveLength(1);
    queue.acknowledged(['e-001', 'e-002']);
    expect(sent).toHaveLength(2);
  });

  it('puts every batch in flight back after a rate limit and waits for the answer still owed', () => {
    const { queue, sent } = recorded(2);
    queue.add(events(1, 5));
    // The second batch is rate limited at once; the first is still being committed.
    expect(queue.rejected('rate_limited')).toBe('resume_later');
    queue.resume();
    expect(sent).toHaveLength(2);
    // The first batch's ack was owed: its events are on the server and leave the queue.
    queue.acknowledged(['e-001', 'e-002']);
    expect(sent.at(-1)).toEqual(['e-003', 'e-004']);
    // From now on one batch at a time.
    expect(sent).toHaveLength(3);
    queue.acknowledged(['e-003', 'e-004']);
    expect(sent.at(-1)).toEqual(['e-005']);
    queue.acknowledged(['e-005']);
    expect(queue.size).toBe(0);
  });

  it('sends nothing while paused, and everything again on resume', () => {
    const { queue, sent } = recorded(3, 1);
    queue.add(events(1, 2));
    expect(queue.rejected('internal')).toBe('resume_later');
    queue.add(events(3, 1));
    expect(sent).toHaveLength(1);
    queue.resume();
    expect(sent.at(-1)).toEqual(['e-001', 'e-002', 'e-003']);
  });

  it('halves the batch size on too_large and ignores the second error owed for the other batch', () => {
    const { queue, sent } = recorded(4);
    queue.add(events(1, 8));
    expect(queue.rejected('too_large')).toBe('none');
    expect(sent).toHaveLength(2);
    expect(queue.rejected('too_large')).toBe('none');
    expect(sent.slice(2)).toEqual([['e-001', 'e-002']]);
    queue.acknowledged(['e-001', 'e-002']);
    queue.acknowledged(['e-003', 'e-004']);
    queue.acknowledged(['e-005', 'e-006']);
    queue.acknowledged(['e-007', 'e-008']);
    expect(queue.size).toBe(0);
  });

  it('drops a single event the server finds too large; it stays pending in storage', () => {
    const { queue, sent } = recorded(1, 1);
    queue.add(events(1, 2));
    expect(queue.rejected('too_large')).toBe('none');
    expect(sent).toEqual([['e-001'], ['e-002']]);
    expect(queue.size).toBe(1);
  });

  it('lets a batch refused for another reason go and sends the next', () => {
    const { queue, sent } = recorded(1, 1);
    queue.add(events(1, 2));
    expect(queue.rejected('forbidden')).toBe('none');
    expect(sent.at(-1)).toEqual(['e-002']);
    expect(queue.rejected('forbidden')).toBe('none');
    expect(queue.size).toBe(0);
  });

  it('ignores an error when nothing is in flight', () => {
    const { queue, sent } = recorded(2);
    expect(queue.rejected('too_large')).toBe('none');
    queue.add(events(1, 4));
    expect(sent).toEqual([
      ['e-001', 'e-002'],
      ['e-003', 'e-004'],
    ]);
  });

  it('queues an event once, and pipelines again after clear()', () => {
    const { queue, sent } = recorded(2);
    queue.add(events(1, 2));
    queue.add(events(1, 2));
    expect(sent).toHaveLength(1);
    queue.rejected('rate_limited');
    queue.clear();
    queue.add(events(1, 4));
    expect(sent.slice(1)).toEqual([
      ['e-001', 'e-002'],
      ['e-003', 'e-004'],
    ]);
  });
});

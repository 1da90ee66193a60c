import type { EventsReceivedMessage } from '@local-first/core/adapter';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveReceipts } from '../src/client/receipts.js';

describe('LiveReceipts', () => {
  let sent: EventsReceivedMessage[];
  let receipts: LiveReceipts;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    receipts = new LiveReceipts((message) => sent.push(message));
  });
  afterEach(() => vi.useRealTimers());

  it('confirms live events once the event loop is free, one message per repository', () => {
    receipts.add('tasks', 1, 5);
    receipts.add('notes', 2, 9);
    receipts.add('tasks', 1, 6);
    expect(sent).toEqual([]);
    vi.runAllTimers();
    expect(sent).toEqual([
      { type: 'events_received', repository: 'tasks', count: 2, lastSequence: 6 },
      { type: 'events_received', repository: 'notes', count: 2, lastSequence: 9 },
    ]);
    vi.runAllTimers();
    expect(sent).toHaveLength(2);
  });

  it('confirms a catch-up page at once, with what was owed before it', () => {
    receipts.add('tasks', 1, 5);
    receipts.add('tasks', 1000, 1005, true);
    expect(sent).toEqual([
      { type: 'events_received', repository: 'tasks', count: 1001, lastSequence: 1005 },
    ]);
    vi.runAllTimers();
    expect(sent).toHaveLength(1);
  });

  it('sends nothing owed after clear()', () => {
    receipts.add('tasks', 1, 5);
    receipts.clear();
    vi.runAllTimers();
    expect(sent).toEqual([]);
  });
});

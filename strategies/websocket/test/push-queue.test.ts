import type { StoredEvent } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { countUtf8, envelopeBytes, eventBytes, utf8Length } from '../src/client/frame-size.js';
import { type Batch, PushQueue } from '../src/client/push-queue.js';

function events(from: number, count: number, options: { repository?: string; pad?: number } = {}) {
  return Array.from(
    { length: count },
    (_, index): StoredEvent => ({
      eventId: `e-${String(from + index).padStart(3, '0')}`,
      operation: 0,
      createdAt: '2024-05-01T00:00:00.000Z',
      dataId: `t-${from + index}`,
      data: { id: `t-${from + index}`, ...(options.pad ? { pad: 'x'.repeat(options.pad) } : {}) },
      repository: options.repository ?? 'tasks',
      syncStatus: 'pending',
      local: true,
    }),
  );
}

/** A queue whose sends and refusals are recorded; batches are named by request id. */
function recorded(maxBatchEvents: number, inFlight = 2, maxFrameBytes = 1024 * 1024) {
  const sent: Batch[] = [];
  const refused: string[] = [];
  let ids = 0;
  const limits = { maxFrameBytes, maxBatchEvents };
  const queue = new PushQueue({
    send: (batch) => sent.push(batch),
    refuse: (event) => refused.push(event.eventId),
    limits: () => limits,
    maxInFlight: inFlight,
    nextRequestId: () => `r${++ids}`,
  });
  const ids_ = (batch: Batch | undefined) => batch?.events.map((event) => event.eventId);
  const frameBytes = (batch: Batch) =>
    utf8Length(
      JSON.stringify({
        type: 'push_events_batch',
        repository: batch.repository,
        requestId: batch.requestId,
        events: batch.events.map(({ repository, syncStatus, local, ...wire }) => wire),
      }),
    );
  return { queue, sent, refused, ids: ids_, limits, frameBytes };
}

describe('PushQueue', () => {
  it('keeps two batches in flight and sends the next as each is acknowledged', () => {
    const { queue, sent, ids } = recorded(2);
    queue.add(events(1, 5));
    expect(sent.map(ids)).toEqual([
      ['e-001', 'e-002'],
      ['e-003', 'e-004'],
    ]);
    queue.acknowledged('r1', ['e-001', 'e-002']);
    expect(ids(sent.at(-1))).toEqual(['e-005']);
    expect(queue.size).toBe(3);
    queue.acknowledged('r2', ['e-004', 'e-003']);
    queue.acknowledged('r3', ['e-005']);
    expect(queue.size).toBe(0);
    expect(sent).toHaveLength(3);
  });

  it('finds the batch of an ack without a request id by its events (a 1.0 server)', () => {
    const { queue, sent, ids } = recorded(2);
    queue.add(events(1, 6));
    queue.acknowledged(undefined, ['e-003', 'e-004']);
    expect(ids(sent.at(-1))).toEqual(['e-005', 'e-006']);
    queue.acknowledged(undefined, ['e-002', 'e-001']);
    queue.acknowledged(undefined, ['e-005', 'e-006']);
    expect(queue.size).toBe(0);
  });

  it('cuts batches by encoded bytes so that no frame passes the limit', () => {
    // 600 edits of 3 KB: 500 of them would make a frame of 1.5 MiB.
    const { queue, sent, frameBytes } = recorded(500, 2, 1024 * 1024);
    queue.add(events(1, 600, { pad: 3_000 }));
    expect(sent).toHaveLength(2);
    for (const batch of sent) expect(frameBytes(batch)).toBeLessThanOrEqual(1024 * 1024);
    expect(sent[0]!.events.length).toBeGreaterThan(300);
    queue.acknowledged(
      'r1',
      sent[0]!.events.map((event) => event.eventId),
    );
    queue.acknowledged(
      'r2',
      sent[1]!.events.map((event) => event.eventId),
    );
    expect(sent.reduce((sum, batch) => sum + batch.events.length, 0)).toBe(600);
    expect(queue.size).toBe(0);
  });

  it('counts multi-byte characters as the UTF-8 bytes they become', () => {
    for (const text of ['aé€😀', 'plain', '\ud800 lone surrogate', ''])
      expect([utf8Length(text), countUtf8(text)]).toEqual([
        Buffer.byteLength(text),
        Buffer.byteLength(text),
      ]);
    const [event] = events(1, 1);
    event!.data = { id: 't-1', title: 'ü'.repeat(100) };
    expect(eventBytes(event!)).toBe(
      Buffer.byteLength(
        JSON.stringify({
          ...event,
          repository: undefined,
          syncStatus: undefined,
          local: undefined,
        }),
      ),
    );
    expect(envelopeBytes('tâches', 'r1')).toBe(
      Buffer.byteLength(
        '{"type":"push_events_batch","repository":"tâches","requestId":"r1","events":[]}',
      ),
    );
  });

  it('refuses an event that cannot fit in any frame, and sends the ones behind it', () => {
    const { queue, sent, refused, ids } = recorded(500, 1, 4_096);
    queue.add([...events(1, 1), ...events(2, 1, { pad: 5_000 }), ...events(3, 1)]);
    expect(ids(sent[0])).toEqual(['e-001']);
    queue.acknowledged('r1', ['e-001']);
    expect(refused).toEqual(['e-002']);
    expect(ids(sent.at(-1))).toEqual(['e-003']);
    queue.acknowledged(sent.at(-1)!.requestId, ['e-003']);
    expect(queue.size).toBe(0);
  });

  it('puts a rate-limited batch back in front, while the other batch is acknowledged', () => {
    const { queue, sent, ids } = recorded(2);
    queue.add(events(1, 5));
    // The second batch is rate limited at once; the first is still being committed.
    expect(queue.failed('r2', 'rate_limited')).toBe('resume_later');
    queue.acknowledged('r1', ['e-001', 'e-002']);
    expect(sent).toHaveLength(2);
    queue.resume();
    expect(ids(sent[2])).toEqual(['e-003', 'e-004']);
    expect(ids(sent[3])).toEqual(['e-005']);
  });

  it('sends nothing while paused, and newer events only after the refused ones', () => {
    const { queue, sent, ids } = recorded(3, 1);
    queue.add(events(1, 2));
    expect(queue.failed('r1', 'internal')).toBe('resume_later');
    queue.add(events(3, 1));
    expect(sent).toHaveLength(1);
    queue.resume();
    expect(ids(sent.at(-1))).toEqual(['e-001', 'e-002', 'e-003']);
  });

  it('never parks events refused for other reasons: they are sent again on resume', () => {
    for (const code of ['forbidden', 'invalid_message', 'not_authenticated', 'something_new']) {
      const { queue, sent, ids } = recorded(2, 2);
      queue.add(events(1, 3));
      expect(queue.failed('r1', code)).toBe('resume_later');
      queue.resume();
      expect(ids(sent.at(-1))).toEqual(['e-001', 'e-002']);
      expect(queue.size).toBe(3);
    }
  });

  it('cuts the batch in half on too_large and sends the halves', () => {
    const { queue, sent, ids } = recorded(4);
    queue.add(events(1, 8));
    expect(queue.failed('r1', 'too_large')).toBe('none');
    expect(ids(sent[2])).toEqual(['e-001', 'e-002']);
    queue.acknowledged('r2', ['e-005', 'e-006', 'e-007', 'e-008']);
    queue.acknowledged('r3', ['e-001', 'e-002']);
    queue.acknowledged(sent.at(-1)!.requestId, ['e-003', 'e-004']);
    expect(queue.size).toBe(0);
  });

  it('refuses a single event the server finds too large, and goes on', () => {
    const { queue, sent, refused, ids } = recorded(1, 1);
    queue.add(events(1, 2));
    expect(queue.failed('r1', 'too_large')).toBe('none');
    expect(refused).toEqual(['e-001']);
    expect(ids(sent.at(-1))).toEqual(['e-002']);
    expect(queue.size).toBe(1);
  });

  it('ignores an answer to a batch it does not know', () => {
    const { queue, sent } = recorded(2);
    expect(queue.failed('r9', 'too_large')).toBe('none');
    queue.add(events(1, 4));
    expect(queue.failed('r9', 'internal')).toBe('none');
    expect(sent).toHaveLength(2);
  });

  it('queues an event once, and pipelines again after clear()', () => {
    const { queue, sent, ids } = recorded(2);
    queue.add(events(1, 2));
    queue.add(events(1, 2));
    expect(sent).toHaveLength(1);
    queue.failed('r1', 'rate_limited');
    queue.clear();
    queue.add(events(1, 4));
    expect(sent.slice(1).map(ids)).toEqual([
      ['e-001', 'e-002'],
      ['e-003', 'e-004'],
    ]);
  });
});

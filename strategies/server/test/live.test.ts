import type { EventsMessage, ServerEvent } from '@local-first/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveBroadcast, type LiveHost, type LiveReader } from '../src/engine/live.js';

// Printed so that any run can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[live] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

class Reader implements LiveReader {
  readonly got: EventsMessage[] = [];
  constructor(
    readonly name: string,
    private readonly access: 'yes' | 'no' | 'later' = 'yes',
  ) {}
  get user() {
    return { userId: this.name };
  }
  mayReadNow(): boolean | undefined {
    return this.access === 'later' ? undefined : this.access === 'yes';
  }
  async mayRead(): Promise<boolean> {
    return this.access !== 'no';
  }
  sendLive(message: EventsMessage): boolean {
    this.got.push(message);
    return true;
  }
  ids(): string[] {
    return this.got.flatMap((message) => message.events.map((event) => event.eventId));
  }
}

function host(readers: Reader[], limits = { maxEvents: 500, maxBytes: 1024 * 1024 }) {
  const sent: { repository: string; events: number; readers: number }[] = [];
  const value: LiveHost<Reader> = {
    readers: () => readers,
    nameOf: (stored: string) => stored,
    epochOf: async () => 'epoch-1',
    ...limits,
    sent: (repository, events, count) => sent.push({ repository, events, readers: count }),
    failed: (error) => {
      throw error;
    },
  };
  return { value, sent };
}

function stored(sequence: number, bytes = 10): ServerEvent {
  const id = `e${sequence}`;
  return {
    eventId: id,
    operation: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    dataId: id,
    data: { id, text: 'x'.repeat(bytes) },
    serverSequence: sequence,
    serverCreatedAt: '2026-01-01T00:00:00.000Z',
  } as ServerEvent;
}

describe('LiveBroadcast', () => {
  it('sends the pushes of one turn as one message; a pusher gets the others’ events, never its own', async () => {
    const [a, b, c, reader] = [new Reader('a'), new Reader('b'), new Reader('c'), new Reader('r')];
    const { value, sent } = host([a, b, c, reader]);
    const live = new LiveBroadcast(value);
    // Finished out of sequence order, as pushes of one commit may.
    const done = [
      live.broadcast('notes', [stored(2), stored(3)], b),
      live.broadcast('notes', [stored(1)], a),
      live.broadcast('notes', [stored(4)], undefined),
      live.broadcast('todos', [stored(1)], c),
    ];
    await Promise.all(done);
    expect(
      reader.got.map((message) => message.events.map((event) => event.serverSequence)),
    ).toEqual([[1, 2, 3, 4], [1]]);
    expect(reader.got[0]).toMatchObject({ repository: 'notes', lastSequence: 4, epoch: 'epoch-1' });
    expect({ a: a.ids(), b: b.ids(), c: c.ids() }).toEqual({
      a: ['e2', 'e3', 'e4', 'e1'],
      b: ['e1', 'e4', 'e1'],
      c: ['e1', 'e2', 'e3', 'e4'],
    });
    expect(sent).toEqual([
      { repository: 'notes', events: 4, readers: 4 },
      { repository: 'todos', events: 1, readers: 3 },
    ]);
  });

  it('resolves once the readers whose permission is known have the events', async () => {
    const [known, later, refused] = [
      new Reader('k'),
      new Reader('l', 'later'),
      new Reader('n', 'no'),
    ];
    const live = new LiveBroadcast(host([known, later, refused]).value);
    await live.broadcast('notes', [stored(1)], undefined);
    expect(known.ids()).toEqual(['e1']);
    expect(refused.ids()).toEqual([]);
    await Promise.resolve();
    expect(later.ids()).toEqual(['e1']);
  });

  it('property: every reader gets every event but its own, once, in order, within the limits', () => {
    const scenario = fc.record({
      maxEvents: fc.integer({ min: 1, max: 8 }),
      maxBytes: fc.integer({ min: 700, max: 3_000 }),
      readers: fc.integer({ min: 1, max: 6 }),
      pushes: fc.array(
        fc.record({
          origin: fc.integer({ min: -1, max: 5 }),
          sizes: fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 4 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      order: fc.array(fc.nat(), { maxLength: 12 }),
    });
    return fc.assert(
      fc.asyncProperty(scenario, async ({ maxEvents, maxBytes, readers: count, pushes, order }) => {
        const readers = Array.from({ length: count }, (_, index) => new Reader(`r${index}`));
        const live = new LiveBroadcast(host(readers, { maxEvents, maxBytes }).value);
        let sequence = 0;
        const parts = pushes.map(({ origin, sizes }) => ({
          origin: origin >= 0 && origin < count ? readers[origin] : undefined,
          events: sizes.map((bytes) => stored(++sequence, bytes)),
        }));
        // Finished in some order other than the sequence.
        for (const [index, swap] of order.entries()) {
          const other = swap % parts.length;
          const at = index % parts.length;
          [parts[at], parts[other]] = [parts[other]!, parts[at]!];
        }
        await Promise.all(parts.map((part) => live.broadcast('r', part.events, part.origin)));
        for (const reader of readers) {
          const expected = parts
            .filter((part) => part.origin !== reader)
            .flatMap((part) => part.events.map((event) => event.serverSequence))
            .sort((x, y) => x - y);
          const got = reader.got.flatMap((message) => message.events.map((e) => e.serverSequence));
          expect(got).toEqual(expected);
          for (const message of reader.got) {
            // One push is one message whatever its size, as it came in one frame.
            const single = parts.some((part) => part.events === message.events);
            if (!single) {
              expect(message.events.length).toBeLessThanOrEqual(maxEvents);
              if (message.events.length > 1)
                expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(maxBytes);
            }
            expect(message.lastSequence).toBe(message.events.at(-1)!.serverSequence);
          }
        }
      }),
      { seed, numRuns: 300 },
    );
  });
});

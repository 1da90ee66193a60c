import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveRemoteEvent } from '../src/conflict.js';
import { formatHlc } from '../src/hlc.js';
import type { StoredRecord, SyncEvent } from '../src/model.js';

// Printed so that any run, failing or not, can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[convergence] fast-check seed ${seed} (replay with FC_SEED=${seed})`);
const RUNS = 300;

const eventArbitrary = fc
  .record({
    node: fc.constantFrom('n1', 'n2', 'n3'),
    wall: fc.integer({ min: 1_000, max: 1_020 }),
    counter: fc.integer({ min: 0, max: 2 }),
    operation: fc.constantFrom(0, 1, 2),
    dataId: fc.constantFrom('r1', 'r2', 'r3'),
    value: fc.integer({ min: 0, max: 9 }),
    withHlc: fc.boolean(),
  })
  .map(({ node, wall, counter, operation, dataId, value, withHlc }): SyncEvent => {
    const event: SyncEvent = {
      eventId: `${node}-${wall}-${counter}-${dataId}-${operation}-${value}`,
      operation: operation as SyncEvent['operation'],
      createdAt: new Date(wall).toISOString(),
      dataId,
      data: operation === 2 ? null : { id: dataId, value },
    };
    if (withHlc) event.hlc = formatHlc({ wall, counter }, node);
    return event;
  });

/** A replica as the client keeps it: applied event ids and record states. */
function replay(events: readonly SyncEvent[]): Map<string, StoredRecord> {
  const seen = new Set<string>();
  const records = new Map<string, StoredRecord>();
  for (const event of events) {
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    const next = resolveRemoteEvent(records.get(event.dataId), event);
    if (next) records.set(event.dataId, next);
  }
  return records;
}

/** The events in a random order, some of them twice. */
function deliveries(events: SyncEvent[]) {
  return fc
    .tuple(
      fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
      fc.subarray(events),
      fc.integer({ min: 0, max: 1_000 }),
    )
    .map(([shuffled, again, at]) => {
      const position = events.length === 0 ? 0 : at % (shuffled.length + 1);
      return [...shuffled.slice(0, position), ...again, ...shuffled.slice(position)];
    });
}

describe('convergence of last-writer-wins (pure)', () => {
  it('replicas that receive the same events in any order, with duplicates, hold the same state', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(eventArbitrary, { maxLength: 30, selector: (event) => event.eventId })
          .chain((events) => fc.tuple(fc.constant(events), deliveries(events), deliveries(events))),
        ([events, first, second]) => {
          const reference = replay(events);
          expect(replay(first)).toEqual(reference);
          expect(replay(second)).toEqual(reference);
        },
      ),
      { seed, numRuns: RUNS },
    );
  });

  it('a late older update never resurrects a record deleted after it', () => {
    const update: SyncEvent = {
      eventId: 'u',
      operation: 1,
      createdAt: '2025-01-01T00:00:00.000Z',
      dataId: 'r',
      data: { id: 'r' },
      hlc: formatHlc({ wall: 1, counter: 0 }, 'a'),
    };
    const remove: SyncEvent = {
      ...update,
      eventId: 'd',
      operation: 2,
      data: null,
      hlc: formatHlc({ wall: 2, counter: 0 }, 'b'),
    };
    expect(replay([remove, update]).get('r')).toMatchObject({ deleted: true, eventId: 'd' });
    expect(replay([update, remove]).get('r')).toMatchObject({ deleted: true, eventId: 'd' });
  });
});

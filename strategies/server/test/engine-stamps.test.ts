import { DEFAULT_MAX_CLOCK_DRIFT_MS, formatHlc } from '@local-first/core/adapter';
import { describe, expect, it } from 'vitest';
import { authenticated, event, makeEngine } from './engine-fixtures.js';

const SERVER_NOW = Date.parse('2025-01-23T10:00:00.000Z');
const MINUTE = 60_000;

/** A well-formed stamp `offsetMs` away from the server clock. */
function stampAt(offsetMs: number): string {
  return formatHlc({ wall: SERVER_NOW + offsetMs, counter: 0 }, 'client-a');
}

describe('SyncEngine: stamps with a drift bound (revision 1.1)', () => {
  it('rejects malformed stamps and stamps too far ahead, and stores the rest of the batch', async () => {
    const { engine, store } = await makeEngine({ now: () => SERVER_NOW });
    expect(engine.limits.maxClockDriftMs).toBe(DEFAULT_MAX_CLOCK_DRIFT_MS);
    const alice = await authenticated(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [
        event('past', { hlc: stampAt(-MINUTE) }),
        event('tilde', { hlc: '~' }),
        event('near-future', { hlc: stampAt(4 * MINUTE) }),
        event('far-future', { hlc: stampAt(10 * MINUTE) }),
        event('short', { hlc: '1737626400000:0:node' }),
        event('created-far-ahead', { createdAt: new Date(SERVER_NOW + 10 * MINUTE).toISOString() }),
        event('no-hlc'),
      ],
    });
    const ack = await alice.next('ack');
    expect(ack.eventIds).toEqual(['past', 'near-future', 'no-hlc']);
    const rejected = ack.rejected as { eventId: string; code: string; message: string }[];
    expect(rejected.map(({ eventId, code }) => [eventId, code])).toEqual([
      ['tilde', 'invalid_event'],
      ['far-future', 'invalid_event'],
      ['short', 'invalid_event'],
      ['created-far-ahead', 'invalid_event'],
    ]);
    expect(rejected[0]!.message).toMatch(/hlc/);
    expect(rejected[1]!.message).toMatch(/ahead of the server clock/);
    expect(await store.lastSequence('todos')).toBe(3);
    await engine.close();
  });

  it('judges the drift by the configured bound and the engine clock', async () => {
    let now = SERVER_NOW;
    const { engine } = await makeEngine({ now: () => now, limits: { maxClockDriftMs: MINUTE } });
    const alice = await authenticated(engine);
    const early = event('two-minutes-ahead', { hlc: stampAt(2 * MINUTE) });
    alice.send({ type: 'push_event', repository: 'todos', event: early });
    expect(await alice.next('ack')).toMatchObject({
      eventIds: [],
      rejected: [{ eventId: 'two-minutes-ahead', code: 'invalid_event' }],
    });
    // The same event, once the server's clock has caught up with it, is fine.
    now = SERVER_NOW + 90_000;
    alice.send({ type: 'push_event', repository: 'todos', event: early });
    expect(await alice.next('ack')).toMatchObject({ eventIds: ['two-minutes-ahead'] });
    await engine.close();
  });
});

import type { EventStore } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import { MemoryEventStore } from '@local-first/store-memory';
import { describe, expect, it } from 'vitest';
import { type Authorizer, SyncEngine, staticTokens } from '../src/engine/index.js';
import { authenticated, event, makeEngine, TOKENS_FIXTURE } from './engine-fixtures.js';

const SERVER_NOW = Date.parse('2025-01-23T10:00:00.000Z');
const MINUTE = 60_000;

/** A well-formed stamp `offsetMs` away from the server clock. */
function stampAt(offsetMs: number): string {
  return formatHlc({ wall: SERVER_NOW + offsetMs, counter: 0 }, 'client-a');
}

/** An authorizer whose write permission the test withdraws. */
function revocableWrites(): Authorizer & { revoke(): void } {
  let writable = true;
  return {
    canRead: () => true,
    canWrite: () => writable,
    revoke: () => {
      writable = false;
    },
  };
}

/** The store's members, minus `findEvents`: a store that cannot look events up. */
function withoutLookup(store: EventStore): EventStore {
  return {
    kind: store.kind,
    open: () => store.open(),
    append: (repository, events) => store.append(repository, events),
    readAfter: (repository, after, limit) => store.readAfter(repository, after, limit),
    readSince: (repository, since, limit) => store.readSince(repository, since, limit),
    lastSequence: (repository) => store.lastSequence(repository),
    listRepositories: () => store.listRepositories(),
    close: () => store.close(),
  };
}

/** Records the ids each `findEvents` call asked for. */
function spyOnLookups(store: MemoryEventStore): string[][] {
  const calls: string[][] = [];
  const find = store.findEvents.bind(store);
  store.findEvents = (repository, eventIds) => {
    calls.push([...eventIds]);
    return find(repository, eventIds);
  };
  return calls;
}

describe('SyncEngine: an event the log already holds is acknowledged, never rejected', () => {
  it('acknowledges a re-sent event as a duplicate after the write permission was withdrawn', async () => {
    const authorizer = revocableWrites();
    const { engine, store } = await makeEngine({ authorizer });
    const first = await authenticated(engine);
    first.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('a'), event('b')],
    });
    expect(await first.next('ack')).toMatchObject({ eventIds: ['a', 'b'], lastSequence: 2 });
    // The ack was lost with the link; meanwhile the user lost write access.
    first.connection.close(1006, 'link dropped');
    authorizer.revoke();
    const again = await authenticated(engine);
    again.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('b'), event('new')],
    });
    expect(await again.next('ack')).toEqual({
      type: 'ack',
      eventIds: ['b'],
      repositories: { todos: ['b'] },
      duplicates: ['b'],
      rejected: [{ eventId: 'new', code: 'forbidden', message: 'no write access to "todos"' }],
      lastSequence: 2,
    });
    expect(await store.lastSequence('todos')).toBe(2);
    await engine.close();
  });

  it('acknowledges a stored event whose stamp a smaller drift bound now refuses', async () => {
    const store = new MemoryEventStore({ now: () => new Date(SERVER_NOW) });
    await store.open();
    const options = { store, authenticator: staticTokens(TOKENS_FIXTURE), now: () => SERVER_NOW };
    const ahead = event('ahead', { hlc: stampAt(4 * MINUTE) });
    const lenient = new SyncEngine(options);
    const first = await authenticated(lenient);
    first.send({ type: 'push_event', repository: 'todos', event: ahead });
    expect(await first.next('ack')).toMatchObject({ eventIds: ['ahead'], lastSequence: 1 });
    first.connection.close(1006, 'link dropped');
    // The server restarts over the same log with a tighter bound.
    const strict = new SyncEngine({ ...options, limits: { maxClockDriftMs: MINUTE } });
    const again = await authenticated(strict);
    const twin = event('twin', { hlc: stampAt(4 * MINUTE) });
    again.send({ type: 'push_events_batch', repository: 'todos', events: [ahead, twin] });
    expect(await again.next('ack')).toMatchObject({
      eventIds: ['ahead'],
      duplicates: ['ahead'],
      rejected: [{ eventId: 'twin', code: 'invalid_event' }],
      lastSequence: 1,
    });
    await strict.close();
    await lenient.close();
  });

  it('keeps the order of the push in eventIds and rejected when it mixes verdicts', async () => {
    const { engine, store } = await makeEngine({
      now: () => SERVER_NOW,
      limits: { maxClockDriftMs: 5 * MINUTE },
    });
    await store.append('todos', [event('held', { hlc: stampAt(10 * MINUTE) })]);
    const alice = await authenticated(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [
        event('early-bad', { hlc: stampAt(10 * MINUTE) }),
        event('fresh'),
        event('held', { hlc: stampAt(10 * MINUTE) }),
        { ...event('shapeless'), operation: 7 },
      ],
    });
    const ack = await alice.next('ack');
    expect(ack).toMatchObject({
      eventIds: ['fresh', 'held'],
      duplicates: ['held'],
      lastSequence: 2,
    });
    expect(
      (ack.rejected as { eventId: string; code: string }[]).map(({ eventId, code }) => [
        eventId,
        code,
      ]),
    ).toEqual([
      ['early-bad', 'invalid_event'],
      ['shapeless', 'invalid_event'],
    ]);
    await engine.close();
  });

  it('takes a refused repeat of an event stored earlier in the same batch as its duplicate', async () => {
    const { engine } = await makeEngine({ now: () => SERVER_NOW });
    const alice = await authenticated(engine);
    const good = event('twice');
    const refused = { ...good, hlc: stampAt(10 * MINUTE) };
    alice.send({ type: 'push_events_batch', repository: 'todos', events: [good, refused] });
    const ack = await alice.next('ack');
    expect(ack).toMatchObject({ eventIds: ['twice', 'twice'], lastSequence: 1 });
    expect(ack.rejected).toBeUndefined();
    await engine.close();
  });

  it('looks up only the events it would reject, never those of an allowed push', async () => {
    const authorizer = revocableWrites();
    const { engine, store } = await makeEngine({ authorizer });
    const lookups = spyOnLookups(store);
    const alice = await authenticated(engine);
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('a'), event('b')],
    });
    await alice.next('ack');
    alice.send({ type: 'push_event', repository: 'todos', event: event('a') });
    expect(await alice.next('ack')).toMatchObject({ duplicates: ['a'] });
    expect(lookups).toEqual([]);
    authorizer.revoke();
    alice.send({
      type: 'push_events_batch',
      repository: 'todos',
      events: [event('a'), event('c')],
    });
    await alice.next('ack');
    expect(lookups).toEqual([['a', 'c']]);
    await engine.close();
  });

  it('rejects as before when the store cannot look events up', async () => {
    const authorizer = revocableWrites();
    const memory = new MemoryEventStore();
    const { engine } = await makeEngine({ authorizer, store: withoutLookup(memory) });
    await memory.open();
    const alice = await authenticated(engine);
    alice.send({ type: 'push_event', repository: 'todos', event: event('a') });
    await alice.next('ack');
    authorizer.revoke();
    alice.send({ type: 'push_event', repository: 'todos', event: event('a') });
    expect(await alice.next('ack')).toMatchObject({
      eventIds: [],
      rejected: [{ eventId: 'a', code: 'forbidden' }],
    });
    await engine.close();
  });
});

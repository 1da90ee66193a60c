import type { EventStore, Logger } from '@local-first/core';
import type { EventPage, Fanout, ServerEvent } from '@local-first/core/adapter';
import { MemoryEventStore, type MemoryFanout, MemoryFanoutHub } from '@local-first/store-memory';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Authorizer,
  SyncEngine,
  type SyncEngineOptions,
  staticTokens,
} from '../src/engine/index.js';
import {
  authenticated,
  event,
  type Message,
  settle,
  type TestClient,
  TOKENS_FIXTURE,
} from './engine-fixtures.js';

/** A store over shared data whose reads and appends a test can hold, counting reads. */
class HeldStore {
  readonly store: EventStore;
  reads = 0;
  private readGate: Promise<void> | undefined;
  private appendGate: Promise<void> | undefined;

  constructor(inner: MemoryEventStore) {
    this.store = {
      kind: inner.kind,
      open: () => inner.open(),
      append: async (repository, events) => {
        const outcomes = await inner.append(repository, events);
        // Committed, but the engine hears of it only when the test lets it.
        await this.appendGate;
        return outcomes;
      },
      readAfter: async (repository, after, limit): Promise<EventPage> => {
        this.reads += 1;
        await this.readGate;
        return inner.readAfter(repository, after, limit);
      },
      readSince: (repository, since, limit) => inner.readSince(repository, since, limit),
      lastSequence: (repository) => inner.lastSequence(repository),
      listRepositories: () => inner.listRepositories(),
      findEvents: (repository, ids) => inner.findEvents(repository, ids),
      epoch: (repository) => inner.epoch(repository),
      close: async () => {},
    };
  }

  /** Holds every read from now on; the returned function lets them go. */
  holdReads(): () => void {
    let release = () => {};
    this.readGate = new Promise((resolve) => {
      release = () => {
        this.readGate = undefined;
        resolve();
      };
    });
    return release;
  }

  /** Holds the answer of every append from now on (after it committed). */
  holdAppends(): () => void {
    let release = () => {};
    this.appendGate = new Promise((resolve) => {
      release = () => {
        this.appendGate = undefined;
        resolve();
      };
    });
    return release;
  }
}

interface Node {
  engine: SyncEngine;
  fanout: MemoryFanout;
  held: HeldStore;
}

const started: SyncEngine[] = [];
afterEach(async () => {
  for (const engine of started.splice(0)) await engine.close();
});

/** `count` engines over one store, each with its own fan-out node on one hub. */
async function cluster(
  count: number,
  options: Partial<SyncEngineOptions> = {},
  wrap: (index: number, fanout: Fanout) => Fanout = (_index, fanout) => fanout,
) {
  const shared = new MemoryEventStore({ now: () => new Date('2025-01-23T10:00:00.000Z') });
  await shared.open();
  const hub = new MemoryFanoutHub();
  const nodes: Node[] = [];
  for (let index = 0; index < count; index++) {
    const held = new HeldStore(shared);
    const fanout = hub.node({ node: `node-${index}` });
    await fanout.open();
    const engine = new SyncEngine({
      store: held.store,
      authenticator: staticTokens(TOKENS_FIXTURE),
      fanout: wrap(index, fanout),
      ...options,
    });
    started.push(engine);
    nodes.push({ engine, fanout, held });
  }
  return { shared, hub, nodes };
}

let requests = 0;

/** A reader on `engine` that has caught `repository` up, as every client does after auth. */
async function reader(engine: SyncEngine, repository = 'todos', token?: string) {
  const client = await authenticated(engine, token);
  await catchUp(client, repository);
  return client;
}

async function catchUp(client: TestClient, repository: string): Promise<Message> {
  const requestId = `catch-up-${++requests}`;
  client.send({ type: 'request_events', repository, requestId });
  return client.nextWhere(
    (message) => message.type === 'sync_complete' && message.requestId === requestId,
    `sync_complete of ${requestId}`,
  );
}

/** The next live broadcast (no requestId) of a repository. */
function live(client: TestClient, repository = 'todos'): Promise<Message> {
  return client.nextWhere(
    (message) =>
      message.type === 'events' && message.repository === repository && !('requestId' in message),
    `live events of ${repository}`,
  );
}

/** Collects live events until the client holds every sequence from `first` to `last`; returns them in arrival order. */
async function liveUntil(client: TestClient, last: number, first = 1): Promise<number[]> {
  const arrived: number[] = [];
  const wanted = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  while (!wanted.every((n) => arrived.includes(n))) {
    const message = await live(client);
    arrived.push(...(message.events as ServerEvent[]).map((e) => e.serverSequence));
  }
  return arrived;
}

async function push(client: TestClient, ids: string[], repository = 'todos'): Promise<Message> {
  const requestId = `push-${++requests}`;
  client.send({
    type: 'push_events_batch',
    repository,
    events: ids.map((id) => event(id)),
    requestId,
  });
  return client.nextWhere(
    (message) => message.type === 'ack' && message.requestId === requestId,
    `ack of ${requestId}`,
  );
}

/** No live broadcast of `repository` is waiting in the client's inbox. */
function noEventsWaiting(client: TestClient, repository = 'todos'): void {
  expect(
    client.inbox.filter(
      (message) =>
        message.type === 'events' && message.repository === repository && !('requestId' in message),
    ),
  ).toEqual([]);
}

describe('SyncEngine with a fan-out: commits of other nodes reach local readers live', () => {
  it("broadcasts another node's commit to its readers, with the epoch, and announces its own", async () => {
    const { nodes, shared } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const onB = await reader(b.engine);
    const onA = await reader(a.engine);
    const writer = await authenticated(a.engine);
    expect(await push(writer, ['e1', 'e2'])).toMatchObject({ eventIds: ['e1', 'e2'] });
    const relayed = await live(onB);
    expect(relayed).toMatchObject({
      repository: 'todos',
      lastSequence: 2,
      epoch: await shared.epoch('todos'),
    });
    expect((relayed.events as ServerEvent[]).map((e) => [e.eventId, e.serverSequence])).toEqual([
      ['e1', 1],
      ['e2', 2],
    ]);
    expect((await live(onA)).lastSequence).toBe(2);
    await settle(writer);
    noEventsWaiting(writer);
  });

  it('relays nothing to a reader that may not read the repository', async () => {
    const authorizer: Authorizer = {
      canRead: (user, repository) => repository !== 'secret' || user.userId === 'alice',
      canWrite: () => true,
    };
    const { nodes } = await cluster(2, { authorizer });
    const [a, b] = nodes as [Node, Node];
    const alice = await reader(b.engine, 'secret');
    const bob = await authenticated(b.engine, 'token-bob');
    bob.send({ type: 'request_events', repository: 'secret', requestId: 'forbidden' });
    expect(await bob.next('error')).toMatchObject({ code: 'forbidden' });
    await push(await authenticated(a.engine), ['s1'], 'secret');
    expect((await live(alice, 'secret')).lastSequence).toBe(1);
    await settle(bob);
    noEventsWaiting(bob, 'secret');
  });

  it('acks without waiting for the announce, and only logs an announce that fails', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_context, message) => warnings.push(message),
      error: () => {},
    };
    const hub = new MemoryFanoutHub();
    const store = new MemoryEventStore();
    await store.open();
    const stalled = hub.node();
    await stalled.open();
    const never: Fanout = { ...bind(stalled), announce: () => new Promise<void>(() => {}) };
    const failing: Fanout = {
      ...bind(stalled),
      announce: () => Promise.reject(new Error('NOTIFY failed')),
    };
    for (const fanout of [never, failing]) {
      const engine = new SyncEngine({
        store,
        authenticator: staticTokens(TOKENS_FIXTURE),
        fanout,
        logger,
      });
      started.push(engine);
      const other = await reader(engine);
      const writer = await authenticated(engine);
      const id = fanout === never ? 'stalled' : 'failed';
      expect(await push(writer, [id])).toMatchObject({ eventIds: [id] });
      expect((await live(other)).events).toMatchObject([{ eventId: id }]);
    }
    expect(warnings).toEqual(['could not announce a commit to other nodes']);
  });

  it('folds announcements that arrive during a read into one more read, paged by maxPageEvents', async () => {
    const { nodes } = await cluster(2, { limits: { maxPageEvents: 4 } });
    const [a, b] = nodes as [Node, Node];
    const onB = await reader(b.engine);
    const writer = await authenticated(a.engine);
    const release = b.held.holdReads();
    const readsBefore = b.held.reads;
    await push(writer, ['first']);
    for (let index = 2; index <= 11; index++) await push(writer, [`e${index}`]);
    // Ten announcements arrived while the first read was held: no other read started.
    expect(b.held.reads - readsBefore).toBe(1);
    release();
    const arrived = await liveUntil(onB, 11);
    expect(arrived).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    // Eleven announcements, three reads: the held one and two more pages (4 + 4 + 3).
    expect(b.held.reads - readsBefore).toBe(3);
  });

  it('reads the hole below a local commit that overtook an announcement, without echoing the pusher', async () => {
    const { nodes, hub } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const onB = await reader(b.engine);
    hub.cut(b.fanout);
    await push(await authenticated(a.engine), ['from-a']);
    const writerOnB = await authenticated(b.engine);
    await push(writerOnB, ['from-b']);
    expect((await liveUntil(onB, 2)).sort()).toEqual([1, 2]);
    const echoed = await live(writerOnB);
    expect((echoed.events as ServerEvent[]).map((e) => e.eventId)).toEqual(['from-a']);
    await settle(writerOnB);
    noEventsWaiting(writerOnB);
  });

  it('repairs after missed announcements: reads every repository its readers follow', async () => {
    const { nodes, hub } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const todos = await reader(b.engine, 'todos');
    const notes = await reader(b.engine, 'notes');
    hub.cut(b.fanout);
    const writer = await authenticated(a.engine);
    await push(writer, ['t1', 't2', 't3'], 'todos');
    await push(writer, ['n1'], 'notes');
    await settle(todos);
    noEventsWaiting(todos);
    hub.restore(b.fanout);
    expect((await live(todos, 'todos')).events).toMatchObject([
      { eventId: 't1' },
      { eventId: 't2' },
      { eventId: 't3' },
    ]);
    expect((await live(notes, 'notes')).events).toMatchObject([{ eventId: 'n1' }]);
  });

  it('forgets, at a repair, the repositories that no connection reads any more', async () => {
    const { nodes, hub } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const gone = await reader(b.engine, 'todos');
    const notes = await reader(b.engine, 'notes');
    gone.connection.close(1000, 'done');
    await gone.closed;
    hub.cut(b.fanout);
    // The repair reads what is still read (notes) and forgets the rest (todos).
    hub.restore(b.fanout);
    const readsBefore = b.held.reads;
    const writer = await authenticated(a.engine);
    await push(writer, ['t1'], 'todos');
    // Announced after t1: once it is relayed, t1's announcement has been heard and dropped.
    await push(writer, ['n1'], 'notes');
    expect((await live(notes, 'notes')).events).toMatchObject([{ eventId: 'n1' }]);
    expect(b.held.reads - readsBefore).toBe(1);
  });

  it('spares the pusher an event that a read found while its push was still in flight', async () => {
    const { nodes } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const onB = await reader(b.engine);
    const writerOnA = await authenticated(a.engine);
    await push(writerOnA, ['a1']);
    await liveUntil(onB, 1);
    const writerOnB = await authenticated(b.engine);
    const release = b.held.holdAppends();
    const requestId = 'held-push';
    writerOnB.send({ type: 'push_event', repository: 'todos', event: event('b2'), requestId });
    // b2 is committed (sequence 2); a3 is announced, and B's read finds both.
    await push(writerOnA, ['a3']);
    expect((await liveUntil(onB, 3, 2)).sort()).toEqual([2, 3]);
    release();
    await writerOnB.nextWhere((m) => m.requestId === requestId, 'ack of the held push');
    const toWriter = await live(writerOnB);
    expect((toWriter.events as ServerEvent[]).map((e) => e.eventId)).toEqual(['a3']);
    await settle(writerOnB);
    await settle(onB);
    noEventsWaiting(writerOnB);
    noEventsWaiting(onB);
  });
});

describe('SyncEngine with a fan-out: a commit that its node never announced', () => {
  it('reaches every reader on every node when a client re-sends it to another node', async () => {
    const { nodes, shared } = await cluster(3);
    const [, b, c] = nodes as [Node, Node, Node];
    const onB = await reader(b.engine);
    const onC = await reader(c.engine);
    // Node A committed it and crashed before its broadcast, its announce and its ack.
    await shared.append('todos', [event('orphan')]);
    const resender = await authenticated(b.engine);
    expect(await push(resender, ['orphan'])).toMatchObject({
      eventIds: ['orphan'],
      duplicates: ['orphan'],
      lastSequence: 1,
    });
    for (const client of [onB, onC]) {
      expect((await live(client)).events).toMatchObject([{ eventId: 'orphan', serverSequence: 1 }]);
    }
    await settle(resender);
    noEventsWaiting(resender);
  });

  it('reaches them too when its node committed it through a fan-out that failed', async () => {
    const failing = (fanout: Fanout): Fanout => ({
      ...bind(fanout),
      announce: () => Promise.reject(new Error('the link to the database is down')),
    });
    const { nodes } = await cluster(3, {}, (index, fanout) =>
      index === 0 ? failing(fanout) : fanout,
    );
    const [a, b, c] = nodes as [Node, Node, Node];
    const onC = await reader(c.engine);
    await push(await authenticated(a.engine), ['unannounced']);
    // B's reader catches up after the commit: B has it, and nobody ever announced it.
    const onB = await reader(b.engine);
    const resender = await authenticated(b.engine);
    expect(await push(resender, ['unannounced'])).toMatchObject({ duplicates: ['unannounced'] });
    expect((await live(onC)).events).toMatchObject([{ eventId: 'unannounced' }]);
    await settle(onB);
    noEventsWaiting(onB);
    noEventsWaiting(resender);
  });
});

/** The members of a fan-out bound to it, to build fan-outs that differ in one member. */
function bind(fanout: Fanout): Fanout {
  return {
    node: fanout.node,
    open: () => fanout.open(),
    announce: (repository, lastSequence) => fanout.announce(repository, lastSequence),
    onAnnouncement: (listener) => fanout.onAnnouncement(listener),
    close: () => fanout.close(),
  };
}

import type { SyncEvent } from '@local-first/core';
import { PostgresEventStore } from '@local-first/store-postgres';
import {
  type PostgresInstance,
  postgresMissingFor,
  type RedisInstance,
  redisMissingFor,
  startPostgres,
  startRedis,
} from '@local-first/test-services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Message,
  RawClient,
  type ServerProcess,
  startServerProcess,
  stopProcess,
} from './helpers.js';

const NODES = 3;
const PHASE_ONE_ROUNDS = 3;
const PHASE_TWO_BATCHES = 6;
const BATCH_EVENTS = 5;
const REPOSITORY = 'todos';

const missing = postgresMissingFor('the multi-node test');

interface WireEvent {
  eventId: string;
  serverSequence: number;
}

function sample(eventId: string): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: '2025-01-23T10:00:00.000Z',
    dataId: eventId,
    data: { id: eventId },
  };
}

/**
 * One device: what it received, by sequence, over every connection it had. It follows the
 * client contract where this test needs it: catch up from its cursor after each connect.
 */
class Device {
  raw!: RawClient;
  readonly bySequence = new Map<number, string>();
  readonly problems: string[] = [];
  /** eventIds that arrived in live broadcasts, on any connection. */
  readonly live = new Set<string>();
  readonly acked = new Set<string>();
  private connection = 0;
  private requests = 0;

  constructor(readonly name: string) {}

  async connect(port: number): Promise<void> {
    this.connection += 1;
    const connection = this.connection;
    const raw = await RawClient.connect(`ws://127.0.0.1:${port}/sync`, 'any');
    const liveHere = new Set<string>();
    raw.socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      if (message.type !== 'events') return;
      const isLive = !('requestId' in message);
      for (const { eventId, serverSequence } of message.events as WireEvent[]) {
        const held = this.bySequence.get(serverSequence);
        if (held !== undefined && held !== eventId) {
          this.problems.push(`sequence ${serverSequence} is ${held} and ${eventId}`);
        }
        this.bySequence.set(serverSequence, eventId);
        if (!isLive) continue;
        if (liveHere.has(eventId)) {
          this.problems.push(`${eventId} was broadcast twice on connection ${connection}`);
        }
        liveHere.add(eventId);
        this.live.add(eventId);
      }
    });
    this.raw = raw;
    await this.catchUp();
  }

  /** The highest sequence below which this device holds every event. */
  get cursor(): number {
    let cursor = 0;
    while (this.bySequence.has(cursor + 1)) cursor += 1;
    return cursor;
  }

  async catchUp(): Promise<void> {
    const requestId = `${this.name}-catch-up-${++this.requests}`;
    await this.raw.send({
      type: 'request_events',
      repository: REPOSITORY,
      afterSequence: this.cursor,
      requestId,
    });
    await this.raw.waitUntil(
      (message) => message.type === 'sync_complete' && message.requestId === requestId,
      `sync_complete of ${requestId}`,
    );
  }

  /** Sends a batch; resolves with its ack, or never when the connection drops first. */
  push(eventIds: string[]): { sent: Promise<void>; ack: Promise<Message> } {
    const requestId = `${this.name}-push-${++this.requests}`;
    const raw = this.raw;
    const sent = raw.send({
      type: 'push_events_batch',
      repository: REPOSITORY,
      events: eventIds.map(sample),
      requestId,
    });
    const ack = raw
      .next((message) => message.type === 'ack' && message.requestId === requestId)
      .then((message) => {
        for (const eventId of message.eventIds as string[]) this.acked.add(eventId);
        return message;
      });
    return { sent, ack };
  }

  /** Resolves once every one of `eventIds` has arrived; fails naming what is still missing. */
  async receives(eventIds: Iterable<string>, what: string): Promise<void> {
    const wanted = [...eventIds];
    const held = () => new Set(this.bySequence.values());
    for (;;) {
      const have = held();
      const absent = wanted.filter((eventId) => !have.has(eventId));
      if (absent.length === 0) return;
      await this.raw.waitUntil(
        (message) => message.type === 'events',
        `events bringing ${this.name} ${what} (still missing ${absent.slice(0, 8).join(', ')}${absent.length > 8 ? ', …' : ''})`,
      );
    }
  }
}

function idsOf(device: number, phase: string, batch: number): string[] {
  return Array.from({ length: BATCH_EVENTS }, (_, k) => `d${device}-${phase}-b${batch}-e${k}`);
}

const redisMissing = redisMissingFor('the multi-node test over Redis');

describe.skipIf(missing !== undefined)('three server processes on one PostgreSQL', () => {
  let postgres: PostgresInstance;
  let redis: RedisInstance | undefined;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    if (redisMissing === undefined) redis = await startRedis();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => stopProcess(server.child, 'SIGTERM')));
    await redis?.stop();
    await postgres?.stop();
  });

  // The fan-out through PostgreSQL itself (the default), and through Redis pub/sub.
  it.for(['postgres', 'redis'] as const)(
    'relays writes between nodes live (fan-out: %s), and survives a node killed mid-stream',
    { timeout: 90_000 },
    async (fanout, context) => {
      if (fanout === 'redis' && !redis) return context.skip(redisMissing);
      // Each run has a database of its own: the other run's log must not count here.
      const database = `nodes_${fanout}`;
      const admin = new pg.Client({ connectionString: postgres.connectionString });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const store = postgres.database(database);
      const { SYNC_FANOUT: _unset, ...env } = process.env;
      const fanoutArgs = fanout === 'redis' ? ['--fanout', redis!.url] : [];
      for (const server of servers.splice(0)) await stopProcess(server.child, 'SIGTERM');
      servers.push(
        ...(await Promise.all(
          Array.from({ length: NODES }, () =>
            startServerProcess(['--store', store, ...fanoutArgs], env),
          ),
        )),
      );
      const logged = fanout === 'redis' ? redis!.url.replace(/\/$/, '') : 'postgres';
      for (const server of servers) {
        expect(String(server.started.fanout).replace(/\/$/, '')).toBe(logged);
      }
      const devices = servers.map((_, index) => new Device(`device-${index}`));
      await Promise.all(devices.map((device, index) => device.connect(servers[index]!.port)));

      // Phase 1: every device writes through its own node; the others must see it live.
      await Promise.all(
        devices.map(async (device, index) => {
          for (let round = 0; round < PHASE_ONE_ROUNDS; round++) {
            await device.push(idsOf(index, 'one', round)).ack;
          }
        }),
      );
      for (const [index, device] of devices.entries()) {
        const others = devices.flatMap((other, o) => (o === index ? [] : [...other.acked]));
        await device.receives(others, "the other nodes' writes");
        expect(others.filter((eventId) => !device.live.has(eventId))).toEqual([]);
      }

      // Phase 2: everyone streams batches; node 2 is killed right after its first ack.
      const victim = 2;
      const streams = devices.map((_device, index) =>
        Array.from({ length: PHASE_TWO_BATCHES }, (_, batch) => idsOf(index, 'two', batch)),
      );
      const pushes = devices.map((device, index) =>
        streams[index]!.map((eventIds) => device.push(eventIds)),
      );
      await Promise.all(pushes.flatMap((list) => list.map((push) => push.sent)));
      await pushes[victim]![0]!.ack;
      const closed = devices[victim]!.raw.closed;
      await stopProcess(servers[victim]!.child, 'SIGKILL');
      expect((await closed).code).toBe(1006);
      await Promise.all(
        pushes.flatMap((list, index) => (index === victim ? [] : list.map((push) => push.ack))),
      );

      // The victim's device moves to node 0, catches up, and sends what was never acknowledged.
      const device = devices[victim]!;
      const unacked = streams[victim]!.flat().filter((eventId) => !device.acked.has(eventId));
      await device.connect(servers[0]!.port);
      const duplicates: string[] = [];
      const resend = async (eventIds: string[]) => {
        for (let start = 0; start < eventIds.length; start += BATCH_EVENTS) {
          const ack = await device.push(eventIds.slice(start, start + BATCH_EVENTS)).ack;
          duplicates.push(...((ack.duplicates as string[] | undefined) ?? []));
        }
      };
      // The kill may or may not land between a commit and its ack; this makes sure it did once:
      // the last batch is in the log as if node 2 had committed it and died before broadcasting,
      // announcing or acknowledging it. Nothing is committed after it, so no read of a later
      // commit can bring it to the other nodes: only the re-sent duplicate can.
      const orphans = unacked.slice(-BATCH_EVENTS);
      await resend(unacked.slice(0, -BATCH_EVENTS));
      const crashed = new PostgresEventStore({ connectionString: store, poolConfig: { max: 1 } });
      await crashed.open();
      await crashed.append(REPOSITORY, orphans.map(sample));
      await crashed.close();
      await resend(orphans);
      expect(duplicates).toEqual(expect.arrayContaining(orphans));
      expect(streams[victim]!.flat().filter((eventId) => !device.acked.has(eventId))).toEqual([]);

      const acknowledged = new Set(devices.flatMap((each) => [...each.acked]));
      expect(acknowledged.size).toBe(NODES * BATCH_EVENTS * (PHASE_ONE_ROUNDS + PHASE_TWO_BATCHES));
      for (const [index, each] of devices.entries()) {
        const others = [...acknowledged].filter((eventId) => !eventId.startsWith(`d${index}-`));
        await each.receives(others, 'every write of the others');
        // Nodes 0 and 1 relayed the orphans live: the re-send was the only news of them.
        if (index !== victim)
          expect(orphans.filter((eventId) => !each.live.has(eventId))).toEqual([]);
        // Its own writes are never echoed to it: it reads them back from its cursor.
        await each.catchUp();
        const sequences = [...each.bySequence.keys()].sort((a, b) => a - b);
        expect(sequences).toEqual(Array.from({ length: acknowledged.size }, (_, i) => i + 1));
        expect(new Set(each.bySequence.values())).toEqual(acknowledged);
        expect(each.problems).toEqual([]);
      }
    },
  );
});

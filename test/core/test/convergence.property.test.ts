import { LocalFirstClient, Repository, type StoredEvent, silentLogger } from '@local-first/core';
import { eventStamp } from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Todo } from './fixtures.js';

// Printed so that any run, failing or not, can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[client convergence] fast-check seed ${seed} (replay with FC_SEED=${seed})`);
const RUNS = 60;
const HOUR = 3_600_000;
const BASE_TIME = Date.parse('2025-01-23T10:00:00.000Z');

type Step =
  | { kind: 'upsert'; writer: number; id: string; title: string; tick: number }
  | { kind: 'delete'; writer: number; id: string; tick: number }
  | { kind: 'receive'; writer: number; from: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('upsert' as const),
    writer: fc.integer({ min: 0, max: 2 }),
    id: fc.constantFrom('a', 'b', 'c'),
    title: fc.constantFrom('x', 'y', 'z'),
    tick: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    writer: fc.integer({ min: 0, max: 2 }),
    id: fc.constantFrom('a', 'b', 'c'),
    tick: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('receive' as const),
    writer: fc.integer({ min: 0, max: 2 }),
    from: fc.integer({ min: 0, max: 2 }),
  }),
);

async function replica(offsetMs: number, clock = { now: BASE_TIME }) {
  const todos = new Repository<Todo>({ name: 'todos' });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new MemoryStorageAdapter(),
    now: () => clock.now + offsetMs,
    logger: silentLogger,
  });
  await client.initialize();
  return { client, todos, clock };
}

async function stateOf(client: LocalFirstClient) {
  return client.storage.queryRecords('todos', { where: [], orderBy: [], includeDeleted: true });
}

async function eventsOf(client: LocalFirstClient): Promise<StoredEvent[]> {
  return client.storage.getEvents({ repository: 'todos' });
}

describe('convergence through the client (memory storage)', () => {
  it('replicas that receive the same events in any order, batching and duplication end identical; slow clocks still write after what they saw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArbitrary, { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }),
        async (steps, shuffleKeys, batchSizes) => {
          // Writer 1 runs an hour behind, writer 2 an hour ahead.
          const clock = { now: BASE_TIME };
          const writers = await Promise.all([
            replica(0, clock),
            replica(-HOUR, clock),
            replica(HOUR, clock),
          ]);
          for (const step of steps) {
            const writer = writers[step.writer]!;
            if (step.kind === 'receive') {
              const seen = await eventsOf(writers[step.from]!.client);
              await writer.client.applyRemoteEvents('todos', seen);
              continue;
            }
            clock.now += step.tick;
            const before = await eventsOf(writer.client);
            const newest =
              before
                .map((event) => eventStamp(event).hlc)
                .sort()
                .at(-1) ?? '';
            const written =
              step.kind === 'upsert'
                ? await writer.todos.upsert({
                    id: step.id,
                    title: step.title,
                    done: false,
                    priority: step.writer,
                  })
                : await writer.todos.delete(step.id);
            if (written) expect(written.hlc! > newest).toBe(true);
          }

          const all = (await Promise.all(writers.map((writer) => eventsOf(writer.client)))).flat();
          const states = [];
          for (const key of shuffleKeys) {
            const { client } = await replica(0);
            // A deterministic shuffle per key, every event twice, in batches of varying size.
            const order = [...all, ...all]
              .map((event, index) => ({ event, rank: (index * 7919 + key * 104_729) % 1_000_003 }))
              .sort((x, y) => x.rank - y.rank)
              .map((entry) => entry.event);
            let position = 0;
            for (let batch = 0; position < order.length; batch++) {
              const size = batchSizes[batch % batchSizes.length]!;
              await client.applyRemoteEvents('todos', order.slice(position, position + size));
              position += size;
            }
            states.push(await stateOf(client));
          }
          for (const writer of writers) {
            await writer.client.applyRemoteEvents('todos', all);
            states.push(await stateOf(writer.client));
          }
          for (const state of states.slice(1)) expect(state).toEqual(states[0]);
        },
      ),
      { seed, numRuns: RUNS },
    );
  });
});

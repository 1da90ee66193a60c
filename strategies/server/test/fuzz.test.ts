import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Message, RawClient, startTestServer } from './helpers.js';

// Printed so that any run can be replayed with FC_SEED=<seed>.
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.info(`[fuzz] fast-check seed ${seed} (replay with FC_SEED=${seed})`);

const FRAMES = 10_000;
const GUARD_EVENTS = 300;
const GUARD_REPOSITORY = 'guarded';

const repositoryName = fc.constantFrom('todos', 'notes', '', 'a:b', '\u{1F600}', 'x'.repeat(300));
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const validEvent = fc.record({
  eventId: fc.uuid(),
  operation: fc.constantFrom(0, 1, 2),
  createdAt: fc.constant('2025-01-23T10:00:00.000Z'),
  dataId: fc.string({ minLength: 1, maxLength: 8 }),
  data: fc.dictionary(fc.string({ maxLength: 5 }), jsonValue, { maxKeys: 3 }),
});
const validMessage = fc.oneof(
  fc.record({ type: fc.constant('push_event'), repository: repositoryName, event: validEvent }),
  fc.record({
    type: fc.constant('push_events_batch'),
    repository: repositoryName,
    events: fc.array(validEvent, { maxLength: 5 }),
  }),
  fc.record({
    type: fc.constant('request_events'),
    repository: repositoryName,
    afterSequence: fc.nat(50),
    limit: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({ type: fc.constant('request_all_events') }),
  fc.record({ type: fc.constant('events_received'), repository: repositoryName, count: fc.nat() }),
  fc.record({ type: fc.constant('ping') }),
  fc.record({ type: fc.constant('auth'), token: fc.constantFrom('token-fuzz', 'wrong', '') }),
);
/** A valid message with one field replaced by an arbitrary JSON value. */
const mutatedMessage = fc
  .tuple(validMessage, fc.string({ maxLength: 12 }), jsonValue)
  .map(([message, field, value]) => {
    const keys = Object.keys(message);
    const key =
      field.length % 2 === 0 && keys.length > 0 ? keys[field.length % keys.length]! : field;
    return JSON.stringify({ ...message, [key]: value });
  });
const HUGE_FRAME = JSON.stringify({ type: 'ping', padding: 'x'.repeat(1024 * 1024 + 16) });
const frame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 400, arbitrary: mutatedMessage },
  { weight: 200, arbitrary: validMessage.map((message) => JSON.stringify(message)) },
  { weight: 200, arbitrary: jsonValue.map((value) => JSON.stringify(value)) },
  { weight: 100, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 100, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constant(HUGE_FRAME) },
);

describe('fuzzing the sync server over a real socket', () => {
  let harness: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    harness = await startTestServer({
      // The fuzzer confirms at random and asks for pages of one event: paced catch-ups would
      // wait out the confirm timeout page after page. Pacing has its own tests in the engine.
      limits: {
        rateLimitCapacity: 1_000_000,
        rateLimitRefillPerSecond: 1_000_000,
        catchUpWindowPages: 0,
      },
    });
  });
  afterAll(() => harness.stop());

  it(`survives ${FRAMES} arbitrary and mutated frames while a second client keeps pushing and receiving`, async () => {
    const frames = fc.sample(frame, { numRuns: FRAMES, seed });
    const writer = await RawClient.connect(harness.wsUrl, 'token-alice');
    const reader = await RawClient.connect(harness.wsUrl, 'token-bob');
    const seenByReader = new Set<string>();
    reader.socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      if (message.type === 'events' && message.repository === GUARD_REPOSITORY) {
        for (const event of message.events as { eventId: string }[])
          seenByReader.add(event.eventId);
      }
    });

    let fuzzConnections = 0;
    const closeCodes = new Map<number, number>();
    // Each frame is followed by a request that waits in the connection's queue: its answer (or
    // a refusal naming its requestId) proves the frame was handled. A close (bad auth,
    // oversized frame) is awaited and answered by connecting again.
    const fuzz = async () => {
      let client: RawClient | undefined;
      for (let index = 0; index < frames.length; index++) {
        if (!client?.isOpen) {
          client = await RawClient.connect(
            harness.wsUrl,
            index % 3 === 0 ? undefined : 'token-fuzz',
          );
          fuzzConnections += 1;
        }
        const current = client;
        await current.send(frames[index]!).catch(() => undefined);
        const requestId = `settle-${index}`;
        await current
          .send({ type: 'request_events', repository: 'fuzz-settle', requestId })
          .catch(() => undefined);
        const outcome = await Promise.race([
          current.next((message) => message.requestId === requestId).then(() => undefined),
          current.closed,
        ]);
        if (outcome) {
          closeCodes.set(outcome.code, (closeCodes.get(outcome.code) ?? 0) + 1);
          client = undefined;
        } else {
          current.received.length = 0;
        }
      }
      client?.close();
    };

    const guard = async () => {
      for (let i = 0; i < GUARD_EVENTS; i++) {
        const eventId = `guard-${i}`;
        await writer.send({
          type: 'push_event',
          repository: GUARD_REPOSITORY,
          event: {
            eventId,
            operation: 0,
            createdAt: '2025-01-23T10:00:00.000Z',
            dataId: `r${i}`,
            data: { i },
          },
        });
        const ack = await writer.next((message) => message.type === 'ack');
        expect(ack.eventIds).toEqual([eventId]);
      }
    };

    await Promise.all([fuzz(), guard()]);
    // Everything the writer had acknowledged must reach the reader, live or by catch-up.
    await reader.send({ type: 'request_events', repository: GUARD_REPOSITORY, afterSequence: 0 });
    await reader.next(
      (message) => message.type === 'sync_complete' && message.repository === GUARD_REPOSITORY,
    );
    expect(seenByReader.size).toBe(GUARD_EVENTS);

    const health = await fetch(`${harness.server.url}/api/health`);
    expect(health.status).toBe(200);
    console.info(
      `[fuzz] ${FRAMES} frames over ${fuzzConnections} connections; close codes`,
      Object.fromEntries(closeCodes),
    );
    writer.close();
    reader.close();
  });
});

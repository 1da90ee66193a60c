import fc from 'fast-check';
import {
  Cut,
  Drop,
  ForbidWrites,
  ForeignWrite,
  InjectError,
  LargeBurst,
  Lifecycle,
  LocalWrite,
  type ModelCommand,
  type Moment,
  RECORD_IDS,
  RestartServer,
  SlowDisk,
  type Stamp,
  Start,
  Stop,
  SwitchNamespace,
  Wait,
  type WriteKind,
} from './commands.js';
import type { Direction } from './link.js';
import type { InjectableRequest, InjectedCode } from './server.js';
import { REPOSITORIES, type WorldConfig } from './world.js';

// What fast-check draws: the configuration of a run and its commands.

/** Configurations of a run. */
export const anyConfig: fc.Arbitrary<WorldConfig> = fc.record({
  latencyMs: fc.constantFrom(2, 20, 120),
  // 1 000 and 1 500 are at or above the heartbeat interval.
  pongTimeoutMs: fc.constantFrom(500, 1_000, 1_500),
  rateLimited: fc.boolean(),
  backups: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  jitterSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

const repository = fc.constantFrom(...REPOSITORIES);
const recordId = fc.constantFrom(...RECORD_IDS);
const writeKind = fc.oneof(
  { weight: 5, arbitrary: fc.constant<WriteKind>('small') },
  { weight: 2, arbitrary: fc.constant<WriteKind>('large') },
  { weight: 2, arbitrary: fc.constant<WriteKind>('delete') },
  { weight: 1, arbitrary: fc.constant<WriteKind>('huge') },
);
const moment = fc.record({
  after: fc.constantFrom<Moment['after']>('start', 'auth_success', 'sync_complete'),
  microtasks: fc.integer({ min: 0, max: 24 }),
});
const injection = fc.oneof(
  fc.tuple(
    fc.constant<InjectableRequest>('push_events_batch'),
    fc.constantFrom<InjectedCode>(
      'internal',
      'rate_limited',
      'forbidden',
      'invalid_message',
      'too_large',
    ),
  ),
  fc.tuple(
    fc.constant<InjectableRequest>('request_events'),
    fc.constantFrom<InjectedCode>('internal', 'rate_limited', 'forbidden', 'invalid_message'),
  ),
  fc.tuple(
    fc.constant<InjectableRequest>('auth'),
    fc.constantFrom<InjectedCode>('internal', 'rate_limited'),
  ),
);

/** Every command, weighted: writes and waits often, faults and lifecycle calls now and then. */
export const anyCommand: fc.Arbitrary<ModelCommand> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(repository, recordId, writeKind)
      .map(([r, id, kind]) => new LocalWrite(r, id, kind)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(repository, fc.integer({ min: 3, max: 8 }))
      .map(([r, n]) => new LargeBurst(r, n)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        repository,
        recordId,
        fc.constantFrom<Stamp>('good', 'good', 'good', 'tilde', 'future'),
        fc.boolean(),
      )
      .map(([r, id, stamp, remove]) => new ForeignWrite(r, id, stamp, remove)),
  },
  { weight: 6, arbitrary: fc.constantFrom(50, 300, 1_500, 5_000).map((ms) => new Wait(ms)) },
  { weight: 1, arbitrary: fc.constant(new Stop()) },
  { weight: 1, arbitrary: fc.constant(new Start()) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom<'restart' | 'switch'>('restart', 'switch'),
        moment,
        fc.constantFrom(0, 150, 1_000),
      )
      .map(([action, at, gap]) => new Lifecycle(action, at, gap)),
  },
  { weight: 1, arbitrary: fc.constant(new SwitchNamespace()) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom<Direction[]>(['up'], ['down'], ['up', 'down'])
      .map((dirs) => new Cut(dirs)),
  },
  { weight: 1, arbitrary: fc.constant(new Drop()) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(injection, fc.integer({ min: 1, max: 2 }))
      .map(([[type, code], count]) => new InjectError(type, code, count)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(0, 500, 3_000), fc.option(fc.constantFrom(0.25, 0.5), { freq: 3 }))
      .map(([down, keep]) => new RestartServer(down, keep ?? undefined)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(repository, fc.boolean()).map(([r, on]) => new ForbidWrites(r, on)),
  },
  { weight: 1, arbitrary: fc.constantFrom(0, 400, 1_500).map((ms) => new SlowDisk(ms)) },
);

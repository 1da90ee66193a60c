import fc from 'fast-check';
import {
  ForbidWrites,
  ForeignWrite,
  Inject,
  type Injected,
  LocalBurst,
  LocalWrite,
  type ModelCommand,
  OtherDeviceWrite,
  ProxyLimit,
  RECORD_IDS,
  RenewToken,
  Restart,
  RestoreBackup,
  Server,
  Start,
  Stop,
  SyncNow,
  TooLarge,
  Wait,
  type WriteKind,
} from './commands.js';
import { REPOSITORIES, type WorldConfig } from './world.js';

// What fast-check draws: the configuration of a run and its commands.

/** Configurations of a run: timings, batch and page limits on both sides, restores or not. */
export const anyConfig: fc.Arbitrary<WorldConfig> = fc.record({
  latencyMs: fc.constantFrom(0, 5, 50),
  syncInterval: fc.constantFrom(2_000, 10_000),
  pushDelay: fc.constantFrom(0, 300, 1_000),
  requestTimeout: fc.constantFrom(1_000, 5_000),
  retryDelay: fc.constantFrom(200, 1_000),
  maxRetryDelay: fc.constantFrom(5_000, 20_000),
  maxBatchEvents: fc.constantFrom(3, 500),
  // 12 000 bytes: a huge record is refused at write time; 64 KiB: the server refuses it.
  maxBatchBytes: fc.constantFrom(12_000, 64 * 1024),
  pageSize: fc.constantFrom(3, 1_000),
  serverBatchEvents: fc.constantFrom(5, 500),
  serverPageEvents: fc.constantFrom(4, 1_000),
  backups: fc.boolean(),
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
const injected = fc.constantFrom<Injected>(
  'lose_answer',
  'lose_answer',
  'hang',
  'stall_body',
  'slow',
  'refuse',
  '500',
  '429',
  '503',
  '401',
);
const method = fc.constantFrom<'GET' | 'POST' | undefined>('GET', 'POST', 'POST', undefined);

/** Every command, weighted: writes and waits often, faults and lifecycle calls now and then. */
export const anyCommand: fc.Arbitrary<ModelCommand> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(repository, recordId, writeKind)
      .map(([r, id, kind]) => new LocalWrite(r, id, kind)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(repository, fc.integer({ min: 6, max: 14 }), fc.constantFrom('small', 'large'))
      .map(([r, n, kind]) => new LocalBurst(r, n, kind as 'small' | 'large')),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(repository, recordId, fc.boolean())
      .map(([r, id, remove]) => new ForeignWrite(r, id, remove)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(repository, recordId, fc.boolean())
      .map(([r, id, remove]) => new OtherDeviceWrite(r, id, remove)),
  },
  {
    weight: 6,
    arbitrary: fc.constantFrom(50, 500, 2_000, 10_000, 30_000).map((ms) => new Wait(ms)),
  },
  { weight: 2, arbitrary: fc.boolean().map((up) => new Server(up)) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(injected, fc.integer({ min: 1, max: 2 }), method)
      .map(([kind, count, on]) => new Inject(kind, count, on)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }).map((n) => new TooLarge(n)) },
  { weight: 1, arbitrary: fc.boolean().map((on) => new ProxyLimit(on)) },
  {
    weight: 1,
    arbitrary: fc.tuple(repository, fc.boolean()).map(([r, on]) => new ForbidWrites(r, on)),
  },
  { weight: 1, arbitrary: fc.constant(new Stop()) },
  { weight: 1, arbitrary: fc.constant(new Start()) },
  { weight: 1, arbitrary: fc.constantFrom(0, 300, 5_000).map((gap) => new Restart(gap)) },
  { weight: 2, arbitrary: fc.constant(new SyncNow()) },
  { weight: 1, arbitrary: fc.constant(new RenewToken()) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 0.5, 0.8).map((fraction) => new RestoreBackup(fraction)),
  },
);

import { modelSeed } from '@local-first/test-services';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { anyCommand, anyConfig } from './model/arbitraries.js';
import {
  ForbidWrites,
  ForeignWrite,
  Inject,
  LocalBurst,
  LocalWrite,
  OtherDeviceWrite,
  RenewToken,
  Restart,
  RestoreBackup,
  Server,
  Start,
  Stop,
  SyncNow,
  Wait,
} from './model/commands.js';
import { config, runModel } from './model/run.js';
import { captureUncaught } from './model/world.js';

// Read before the clock is faked. FC_SEED replays a run; with FC_PATH (the `path` of a failure
// report) and FC_REPLAY_PATH (the `replayPath` after its counterexample), the failing one.
// CI runs one fixed seed, so a run that lands is a run anyone can repeat; elsewhere each run
// explores a new one. 600 runs take about 15 s here.
const CI_SEED = 20_260_601;
const SEED = modelSeed(CI_SEED);
const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 600);
const MAX_COMMANDS = 40;
/** Real time the shrinker may spend once a run failed; the smallest failure by then is reported. */
const SHRINK_BUDGET_MS = 20_000;

describe('PeriodicSyncStrategy, model-based, over the REST double of the real engine (fake time)', () => {
  let restoreHandlers: () => void;
  beforeEach(() => {
    // setImmediate stays real: nothing here needs it faked, and the double's bodies may use it.
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      now: new Date('2026-06-01T00:00:00.000Z'),
    });
    restoreHandlers = captureUncaught();
  });
  afterEach(() => {
    restoreHandlers();
    vi.useRealTimers();
  });

  it('keeps every guarantee whatever the network, the server and the app do', async () => {
    console.log(
      `model seed: ${SEED} (replay with FC_SEED=${SEED} FC_NUM_RUNS=${NUM_RUNS}; add FC_PATH and FC_REPLAY_PATH from a failure to replay only that run)`,
    );
    let failedAt: number | undefined;
    await fc.assert(
      fc.asyncProperty(
        anyConfig,
        fc.commands([anyCommand], {
          maxCommands: MAX_COMMANDS,
          size: 'max',
          ...(process.env.FC_REPLAY_PATH ? { replayPath: process.env.FC_REPLAY_PATH } : {}),
        }),
        async (cfg, commands) => {
          // Past the budget, shrink candidates are skipped: the smallest failure so far stands.
          fc.pre(failedAt === undefined || performance.now() - failedAt < SHRINK_BUDGET_MS);
          try {
            await runModel(cfg, commands);
          } catch (error) {
            failedAt ??= performance.now();
            throw error;
          }
        },
      ),
      {
        seed: SEED,
        numRuns: NUM_RUNS,
        ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
      },
    );
  }, 120_000);

  // Runs that pin down one behaviour each; every invariant is checked in them as in the property.
  describe('scenarios', () => {
    it('a burst larger than any batch the server takes arrives once each, through 413s that halve the batches', async () => {
      await runModel(config({ serverBatchEvents: 5 }), [
        new Stop(),
        new LocalBurst('todos', 14, 'large'),
        new Start(),
        new Wait(5_000),
      ]);
    });

    it('a record no request can carry gets a final verdict and does not hold back the writes behind it', async () => {
      await runModel(config(), [
        new Stop(),
        new LocalWrite('todos', 'r0', 'huge'),
        new LocalWrite('todos', 'r1', 'small'),
        new Start(),
        new Wait(3_000),
      ]);
    });

    it('batches whose answers were lost after the server stored them are sent again and stored once', async () => {
      await runModel(config({ maxBatchEvents: 3 }), [
        new Wait(500),
        new Inject('lose_answer', 2, 'POST'),
        new LocalBurst('notes', 8, 'small'),
        new Wait(5_000),
      ]);
    });

    it('a 403 on a push whose first answer was lost is undone by the pull that meets the stored event', async () => {
      await runModel(config(), [
        new Wait(500),
        new Inject('lose_answer', 1, 'POST'),
        new LocalWrite('todos', 'r0', 'small'),
        new Wait(300),
        new ForbidWrites('todos', true),
        new Wait(10_000),
      ]);
    });

    it('a request that hangs, or whose body stalls, is given up at requestTimeout', async () => {
      await runModel(config({ latencyMs: 50 }), [
        new Wait(500),
        new Inject('hang', 1, 'POST'),
        new Inject('stall_body', 1, 'GET'),
        new LocalWrite('todos', 'r0', 'small'),
        new Wait(10_000),
      ]);
    });

    it('429 and 503 with Retry-After hold the next round back that long', async () => {
      await runModel(config({ retryDelay: 50, maxRetryDelay: 100 }), [
        new Wait(500),
        new Inject('429', 1, 'POST'),
        new Inject('503', 1, 'GET'),
        new LocalWrite('notes', 'r2', 'small'),
        new Wait(10_000),
      ]);
    });

    it('minutes of a server that is down cost requests at the pace of the backoff, and then every write lands', async () => {
      await runModel(config(), [
        new Wait(500),
        new Server(false),
        new LocalBurst('todos', 10, 'small'),
        new Wait(30_000),
        new LocalWrite('notes', 'r1', 'delete'),
        new Wait(30_000),
        new Wait(30_000),
        new Server(true),
        new Wait(10_000),
      ]);
    });

    it('a 401 stops it in failed, and a new token resumes it', async () => {
      await runModel(config(), [
        new Wait(500),
        new Inject('401', 1, 'POST'),
        new LocalWrite('todos', 'r3', 'small'),
        new Wait(10_000),
        new RenewToken(),
        new Wait(2_000),
      ]);
    });

    it('a restart while a push hangs leaves the push pending, and the next start sends it', async () => {
      await runModel(config(), [
        new Wait(500),
        new Inject('hang', 1, 'POST'),
        new LocalWrite('todos', 'r0', 'large'),
        new Wait(400),
        new Restart(0),
        new Wait(3_000),
      ]);
    });

    it('a server restored from an older copy (a new epoch) gets this device’s writes again', async () => {
      await runModel(config({ backups: true }), [
        new LocalWrite('todos', 'r0', 'small'),
        new Wait(2_000),
        new ForeignWrite('todos', 'r1', false),
        new LocalWrite('notes', 'r2', 'small'),
        new Wait(12_000),
        new RestoreBackup(0.5),
        new OtherDeviceWrite('todos', 'r1', true),
        new Wait(12_000),
      ]);
    });
  });

  // Defects the property found in the strategy, each as the smallest run that showed it; both
  // are fixed (round.ts pulls before it pushes; playRound() clears `awaiting`).
  describe('defects this model found', () => {
    it('syncNow() while failed after a 401 runs a round after which the rounds go on', async () => {
      // It once left `awaiting` set: the round succeeded, the state said connected, and
      // schedule() refused every timer, so the write below never left.
      await runModel(config(), [
        new Inject('401', 1, 'GET'),
        new Wait(500),
        new SyncNow(),
        new Wait(500),
        new LocalWrite('todos', 'r0', 'small'),
        new Wait(30_000),
      ]);
    });

    it('writes acknowledged in a round that a restore interrupts are pushed again', async () => {
      // The round once pushed before it pulled: a fresh client's writes were acknowledged in a
      // log whose epoch it had not learnt, the first page after the restore named the new
      // epoch with nothing stored to compare it with, and the writes stayed synced but lost.
      await runModel(config({ latencyMs: 50, pushDelay: 0, syncInterval: 2_000, backups: true }), [
        new LocalWrite('todos', 'r0', 'small'),
        new LocalWrite('todos', 'r0', 'small'),
        new Wait(50),
        new RestoreBackup(0),
      ]);
    });
  });
});

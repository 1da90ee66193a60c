/**
 * The chaos run of `test/chaos.test.ts`, for as long as you like and with any seed, printing
 * every fault as it happens. Exits 1 if any check failed.
 *
 *   pnpm --filter @local-first/matrix soak -- --seed 7 --duration 10m
 *   pnpm --filter @local-first/matrix soak -- --duration 5m --runs 3   # seeds S, S+1, S+2
 */
import { parseArgs } from 'node:util';
import { ChaosRun } from '../src/chaos/run.js';

const USAGE = `Usage: soak [--seed N] [--duration 90s|10m|600000] [--runs K] [--quiet]

  --seed N        seed of the first run (default: CHAOS_SEED, else the time)
  --duration D    how long the clients write under faults, per run (default 5m)
  --runs K        runs one after the other, with seeds N, N+1, … (default 1)
  --quiet         print only the plan and the result of each run, not every fault
`;

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`--duration "${text}" is not a duration like 90s, 10m or 600000`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms']!;
  return Math.round(Number(match[1]) * unit);
}

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    seed: { type: 'string' },
    duration: { type: 'string' },
    runs: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const firstSeed = Number(values.seed ?? process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const durationMs = parseDuration(values.duration ?? '5m');
const runs = Number(values.runs ?? 1);
if (!Number.isSafeInteger(firstSeed) || !Number.isSafeInteger(runs) || runs < 1) {
  process.stderr.write(USAGE);
  process.exit(2);
}

// A long run gets more kills, so the faults keep their density rather than their count.
const serverKills = Math.max(4, Math.round(durationMs / 10_000));
const clientKills = Math.max(2, Math.round(durationMs / 20_000));

let failed = 0;
for (let index = 0; index < runs; index++) {
  const seed = firstSeed + index;
  console.log(`chaos seed: ${seed} (replay with --seed ${seed}), ${durationMs / 1000} s of faults`);
  const run = new ChaosRun({
    seed,
    durationMs,
    serverKills,
    clientKills,
    log: values.quiet ? () => {} : (line) => console.log(`  ${line}`),
  });
  const stop = () => void run.dispose().then(() => process.exit(130));
  process.once('SIGINT', stop);
  const report = await run.execute();
  process.off('SIGINT', stop);
  console.log(`plan: ${report.plan}`);
  for (const line of report.summary) console.log(`  ${line}`);
  if (report.keptFiles) console.log(`  files kept in ${report.keptFiles}`);
  if (report.failures.length === 0) {
    console.log(`seed ${seed}: every check held (${(report.elapsedMs / 1000).toFixed(1)} s)\n`);
    continue;
  }
  failed++;
  console.log(`seed ${seed}: ${report.failures.length} checks FAILED:`);
  for (const [number, failure] of report.failures.entries())
    console.log(`\n${number + 1}. ${failure}`);
  // Quiet runs printed no faults as they happened; a failure needs them.
  if (values.quiet) console.log(`\ntimeline:\n  ${report.timeline.join('\n  ')}`);
  console.log('');
}
if (runs > 1) console.log(`${runs - failed} of ${runs} runs passed`);
process.exit(failed > 0 ? 1 : 0);

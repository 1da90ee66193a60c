import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlJsStorageAdapter } from '../src/index.js';
import { NodeFilePersister } from '../src/node.js';
import { sqlJs } from './helpers.js';

const WRITER = fileURLToPath(new URL('./crash/writer.ts', import.meta.url));
// Inside the package, so that the bundle's one external import, sql.js, resolves from there.
const BUNDLE = fileURLToPath(
  new URL('../node_modules/.cache/local-first-crash/writer.mjs', import.meta.url),
);
const ROUNDS = 20;
const SEED = Number(process.env.CRASH_SEED ?? 20_240_501);

/** A small seeded generator (mulberry32), so every run kills at the same moments. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Round {
  /** Flushed writes to wait for before the kill is armed. */
  flushes: number;
  /** Milliseconds between the last of those and SIGKILL: where in the next cycle it lands. */
  delayMs: number;
}

/** Starts the writer, kills it as `round` says, and returns the ids it reported flushed. */
async function crashOnce(path: string, round: Round): Promise<number[]> {
  const child: ChildProcess = spawn(process.execPath, [BUNDLE, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => {
    child.on('exit', (_code, signal) => resolve(signal));
  });
  const flushed: number[] = [];
  let armed = false;
  for await (const line of createInterface({ input: child.stdout! })) {
    const [word, id] = line.split(' ');
    if (word === 'flushed') flushed.push(Number(id));
    if (!armed && flushed.length >= round.flushes) {
      armed = true;
      // The only timer of the test: it picks the moment of the crash, it synchronises nothing.
      setTimeout(() => child.kill('SIGKILL'), round.delayMs);
    }
  }
  const signal = await exited;
  if (signal !== 'SIGKILL') throw new Error(`the writer ended by itself (${signal}): ${stderr}`);
  return flushed;
}

describe('sql.js with NodeFilePersister under SIGKILL', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'lf-sqljs-crash-'));
    // One bundle of the writer and the adapter's sources: each of the 20 children then starts
    // in a fraction of the time it would take to compile TypeScript on every start.
    await build({
      entryPoints: [WRITER],
      outfile: BUNDLE,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@local-first/source'],
      external: ['sql.js'],
      logLevel: 'error',
    });
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it(`keeps every flushed write and nothing torn across ${ROUNDS} kills`, async () => {
    const random = generator(SEED);
    const rounds: Round[] = Array.from({ length: ROUNDS }, () => ({
      flushes: 1 + Math.floor(random() * 4),
      delayMs: Math.floor(random() * 12),
    }));
    console.info(
      `[sqljs crash] seed ${SEED} (replay with CRASH_SEED=${SEED}); kill after ` +
        rounds.map((round) => `${round.flushes} flushes + ${round.delayMs} ms`).join(', '),
    );
    const path = join(folder, 'crash.sqlite');
    const SQL = await sqlJs;
    let previous = 0;
    let insideSave = 0;
    const outcomes: string[] = [];
    for (const [index, round] of rounds.entries()) {
      const flushed = await crashOnce(path, round);
      const lastFlushed = Math.max(0, ...flushed);
      // A temporary file left behind means the kill landed between its creation and the rename.
      const tempLeft = await access(`${path}.tmp`).then(
        () => true,
        () => false,
      );
      if (tempLeft) insideSave++;

      // The file is a whole SQLite database, not a torn mix of two saves.
      const raw = new SQL.Database(await readFile(path));
      expect(raw.exec('PRAGMA integrity_check')[0]?.values).toEqual([['ok']]);
      raw.close();

      const adapter = new SqlJsStorageAdapter({
        sqlJs,
        persister: new NodeFilePersister({ path }),
      });
      await adapter.open();
      const last = Number(await adapter.getMeta('last'));
      const ids = (await adapter.queryRecords('writes', { where: [], orderBy: [] })).map((r) =>
        Number(r.id),
      );
      const events = await adapter.getEvents({ status: 'pending' });
      await adapter.close();

      const context = `round ${index + 1}: flushed up to ${lastFlushed}, file holds ${last}`;
      expect(last, context).toBeGreaterThanOrEqual(lastFlushed);
      expect(last, context).toBeGreaterThanOrEqual(previous);
      // Each write is one transaction of record + event + cursor: all of them or none.
      expect(ids, context).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(
        events.map((event) => Number(event.dataId)),
        context,
      ).toEqual(ids);
      previous = last;
      outcomes.push(`${lastFlushed}/${last}${tempLeft ? '*' : ''}`);
    }
    console.info(
      `[sqljs crash] ${ROUNDS} kills survived, ${insideSave} of them inside a save (*); ` +
        `last flushed/on file per round: ${outcomes.join(' ')}`,
    );
  }, 90_000);
});

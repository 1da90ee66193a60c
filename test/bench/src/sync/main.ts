/**
 * `pnpm bench`: every sync scenario in one run, one table (each figure next to its baselines
 * and the ratio) and the table of watches and batched writes, and the results as JSON (and an
 * SVG chart) in test/bench/results/. A benchmark, not a test: it asserts nothing about speed.
 * `BENCH_SCALE=0.1` runs smaller; `BENCH_ONLY=watch` runs only the watch group.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configFromEnvironment } from './config.js';
import { BENCH_DIR } from './processes.js';
import { notes, renderSvg, renderTable, tableRows } from './report.js';
import { renderWatchTable, watchNotes, watchRows } from './report-watch.js';
import { runBenchmark, runWatchOnly } from './run.js';

const { config, scale } = configFromEnvironment();
const only = process.env.BENCH_ONLY;
if (only !== undefined && only !== '' && only !== 'watch')
  throw new Error(`BENCH_ONLY "${only}" is not a group of the benchmark (only "watch" is)`);
const log = (line: string) => process.stderr.write(`${line}\n`);
const directory = join(BENCH_DIR, 'results');
await mkdir(directory, { recursive: true });

if (only === 'watch') {
  const results = await runWatchOnly(config, { scale, log });
  const rows = watchRows(results.watch);
  const jsonPath = join(directory, 'latest-watch.json');
  await writeFile(
    jsonPath,
    `${JSON.stringify({ ...results, table: rows, notes: watchNotes(results.watch) }, null, 2)}\n`,
  );
  process.stdout.write(`${renderWatchTable(results, rows)}\n\nResults: ${jsonPath}\n`);
} else {
  const results = await runBenchmark(config, { scale, log });
  const rows = tableRows(results);
  const watchTable = watchRows(results.watch);
  const jsonPath = join(directory, 'latest.json');
  const svgPath = join(directory, 'latest.svg');
  await writeFile(
    jsonPath,
    `${JSON.stringify(
      {
        ...results,
        table: rows,
        notes: notes(results),
        watchTable,
        watchNotes: watchNotes(results.watch),
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(svgPath, renderSvg(rows));
  process.stdout.write(
    `${renderTable(results, rows)}\n\n${renderWatchTable(results, watchTable)}\n\n` +
      `Results: ${jsonPath}\nChart:   ${svgPath}\n`,
  );
}

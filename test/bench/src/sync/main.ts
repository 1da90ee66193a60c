/**
 * `pnpm bench`: every sync scenario in one run, one table (each figure next to its baselines
 * and the ratio), and the results as JSON (and an SVG chart) in test/bench/results/.
 * A benchmark, not a test: it asserts nothing about speed. `BENCH_SCALE=0.1` runs smaller.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configFromEnvironment } from './config.js';
import { BENCH_DIR } from './processes.js';
import { notes, renderSvg, renderTable, tableRows } from './report.js';
import { runBenchmark } from './run.js';

const { config, scale } = configFromEnvironment();
const results = await runBenchmark(config, {
  scale,
  log: (line) => process.stderr.write(`${line}\n`),
});
const rows = tableRows(results);
const directory = join(BENCH_DIR, 'results');
await mkdir(directory, { recursive: true });
const jsonPath = join(directory, 'latest.json');
const svgPath = join(directory, 'latest.svg');
await writeFile(
  jsonPath,
  `${JSON.stringify({ ...results, table: rows, notes: notes(results) }, null, 2)}\n`,
);
await writeFile(svgPath, renderSvg(rows));
process.stdout.write(
  `${renderTable(results, rows)}\n\nResults: ${jsonPath}\nChart:   ${svgPath}\n`,
);

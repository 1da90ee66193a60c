/**
 * `pnpm bench`: every sync scenario in one run, one table (each figure next to its baselines
 * and the ratio) and the table of watches and batched writes, and the results as JSON (and an
 * SVG chart) in test/bench/results/. A benchmark, not a test: it asserts nothing about speed.
 * `BENCH_SCALE=0.1` runs smaller; `BENCH_ONLY=watch` runs only the watch group,
 * `BENCH_ONLY=browser` only the browser group (real Chromium; skipped, and said so, without it),
 * `BENCH_ONLY=load` only the load group (many writers, a slow reader, many connections).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderBrowserTable } from '../browser/report-browser.js';
import {
  type BrowserResults,
  CHROMIUM,
  chromiumPresent,
  runBrowser,
} from '../browser/run-browser.js';
import { type BenchConfig, configFromEnvironment } from './config.js';
import { BENCH_DIR } from './processes.js';
import { notes, renderSvg, renderTable, tableRows } from './report.js';
import { loadNotes, loadRows, renderLoadTable } from './report-load.js';
import { renderWatchTable, watchNotes, watchRows } from './report-watch.js';
import { runBenchmark, runLoadOnly, runWatchOnly } from './run.js';

const { config, scale } = configFromEnvironment();
const only = process.env.BENCH_ONLY;
const GROUPS = ['watch', 'browser', 'load'];
if (only !== undefined && only !== '' && !GROUPS.includes(only))
  throw new Error(`BENCH_ONLY "${only}" is not a group of the benchmark (${GROUPS.join(', ')})`);
const log = (line: string) => process.stderr.write(`${line}\n`);
const directory = join(BENCH_DIR, 'results');
await mkdir(directory, { recursive: true });

/** The browser group: its table, and its results in `latest-browser.json`. */
async function browserGroup(sizes: BenchConfig['browser']): Promise<string> {
  if (!chromiumPresent())
    return `Browser group SKIPPED: no Chromium at ${CHROMIUM} (pnpm setup:system installs it)`;
  const results: BrowserResults = await runBrowser(sizes, log);
  const jsonPath = join(directory, 'latest-browser.json');
  await writeFile(jsonPath, `${JSON.stringify({ scale, ...results }, null, 2)}\n`);
  return `${renderBrowserTable(results)}\n\nResults: ${jsonPath}`;
}

if (only === 'browser') {
  process.stdout.write(`${await browserGroup(config.browser)}\n`);
} else if (only === 'load') {
  const results = await runLoadOnly(config, { scale, log });
  const rows = loadRows(results.load);
  const jsonPath = join(directory, 'latest-load.json');
  await writeFile(
    jsonPath,
    `${JSON.stringify({ ...results, table: rows, notes: loadNotes(results.load) }, null, 2)}\n`,
  );
  process.stdout.write(`${renderLoadTable(results, rows)}\n\nResults: ${jsonPath}\n`);
} else if (only === 'watch') {
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
  const browser = await browserGroup(config.browser);
  process.stdout.write(
    `${renderTable(results, rows)}\n\n${renderWatchTable(results, watchTable)}\n\n` +
      `${browser}\n\nResults: ${jsonPath}\nChart:   ${svgPath}\n`,
  );
}

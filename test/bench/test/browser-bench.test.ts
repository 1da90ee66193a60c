/**
 * Smoke test of the browser group of the benchmark: tiny sizes in real Chromium, every figure
 * there and every change accounted for. Nothing here looks at speed.
 */
import { describe, expect, it } from 'vitest';
import { browserRows, renderBrowserTable } from '../src/browser/report-browser.js';
import { CHROMIUM, chromiumPresent, runBrowser } from '../src/browser/run-browser.js';
import { SMOKE_CONFIG } from '../src/sync/config.js';

const present = chromiumPresent();
if (!present)
  console.warn(`[bench] no Chromium at ${CHROMIUM}: the browser group's smoke test is skipped`);

describe.skipIf(!present)('pnpm bench, browser group', () => {
  it('runs every browser figure with tiny sizes and reports them', {
    timeout: 180_000,
  }, async () => {
    const sizes = SMOKE_CONFIG.browser;
    const results = await runBrowser(sizes, () => undefined);
    expect(results.catchUp.map((run) => [run.storage, run.records])).toEqual(
      sizes.catchUp.flatMap((records) => [
        ['localforage', records],
        ['sqljs', records],
      ]),
    );
    expect(results.localWrites).toHaveLength(4);
    for (const run of [...results.catchUp, ...results.localWrites]) {
      expect(run.result.ms).toBeGreaterThan(0);
      expect(run.result.floorMs).toBeGreaterThan(0);
    }
    expect(results.yjs.catchUp.map((run) => run.records)).toEqual(sizes.catchUp);
    expect(results.yjs.localWrites.map((run) => run.mode)).toEqual([
      'one-by-one',
      'one-transaction',
    ]);
    expect(results.handover.map((run) => run.mechanism)).toEqual(['locks', 'lease']);
    for (const run of results.handover) expect(run.pendingAfter).toBe(sizes.handoverChanges * 2);
    const table = renderBrowserTable(results);
    expect(table.split('\n')).toHaveLength(3 + browserRows(results).length);
  });
});

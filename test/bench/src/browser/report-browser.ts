/**
 * The browser table of `pnpm bench`: each figure in real Chromium beside raw IndexedDB doing
 * the same puts, the ratio, the longest task of the page meanwhile, and the targets of the
 * issue "The browser as users have it".
 */
import { tableLines } from '../sync/report.js';
import type { BrowserResults } from './run-browser.js';

/** Catch-up into IndexedDB: at most this many times the raw floor. */
export const CATCH_UP_OVER_FLOOR = 3;
/** No task of the page during a catch-up may run longer than this, ms. */
export const LONGEST_TASK_MS = 200;
/** A new leader within this long of the old one closing, ms. */
export const HANDOVER_MS = 1_000;

export interface BrowserRow {
  label: string;
  ms: number;
  floorMs?: number;
  longestTaskMs?: number;
  /** Yjs with y-websocket and y-indexeddb doing the same, and its longest task. */
  yjsMs?: number;
  yjsLongestTaskMs?: number;
  note?: string;
  target?: { text: string; met: boolean };
}

const n = (value: number) => value.toLocaleString('en-US');
const STORAGE = { localforage: 'localforage on IndexedDB', sqljs: 'sql.js + IndexedDB persister' };

type Measured = BrowserResults['catchUp'][number]['result'];
type YjsRun = { ms: number; longTasks: { maxMs: number } } | undefined;

/** A row's figures: ours, the floor, Yjs's, and the save on close of sql.js. */
function measuredRow(label: string, storage: string, result: Measured, yjs: YjsRun): BrowserRow {
  return {
    yjsMs: yjs?.ms,
    yjsLongestTaskMs: yjs?.longTasks.maxMs,
    label,
    ms: result.ms,
    floorMs: result.floorMs,
    longestTaskMs: result.longTasks.maxMs,
    note:
      storage === 'sqljs'
        ? `then ${Math.round(result.closeMs ?? 0)} ms to save on close`
        : undefined,
  };
}

export function browserRows(results: BrowserResults): BrowserRow[] {
  const rows: BrowserRow[] = [];
  const largest = Math.max(...results.catchUp.map((run) => run.records));
  for (const { storage, records, result } of results.catchUp) {
    const targeted = records === largest;
    const ratio = result.ms / result.floorMs;
    const yjs = results.yjs.catchUp.find((run) => run.records === records);
    rows.push({
      ...measuredRow(`catch-up of ${n(records)} into ${STORAGE[storage]}`, storage, result, yjs),
      target: targeted
        ? {
            text: `≤ ${CATCH_UP_OVER_FLOOR}× floor, no task > ${LONGEST_TASK_MS} ms`,
            met: ratio <= CATCH_UP_OVER_FLOOR && result.longTasks.maxMs <= LONGEST_TASK_MS,
          }
        : undefined,
    });
  }
  for (const { storage, records, mode, result } of results.localWrites) {
    const yjs = results.yjs.localWrites.find((run) => run.records === records && run.mode === mode);
    const how = mode === 'one-by-one' ? 'one by one' : 'in one transaction';
    rows.push(
      measuredRow(`${n(records)} local writes ${how}, ${STORAGE[storage]}`, storage, result, yjs),
    );
  }
  for (const run of results.handover) {
    const lost = run.written - run.pendingAfter;
    rows.push({
      label: `leader handover (${run.mechanism === 'locks' ? 'Web Locks' : 'lease, no Web Locks'}): a new leader after the old tab closed`,
      ms: run.ms,
      note: `${n(run.written)} changes written in both tabs, ${n(run.pendingAfter)} pending in the store after`,
      target: { text: `< ${n(HANDOVER_MS)} ms, 0 lost`, met: run.ms < HANDOVER_MS && lost === 0 },
    });
  }
  return rows;
}

export function renderBrowserTable(results: BrowserResults, rows = browserRows(results)): string {
  const header = [
    'measurement',
    'ours ms',
    'raw IndexedDB ms',
    '÷floor',
    'longest task ms',
    'Yjs ms',
    'Yjs longest task',
    'target',
    'met',
    'note',
  ];
  const body = rows.map((row) => [
    row.label,
    n(Math.round(row.ms)),
    row.floorMs === undefined ? '' : n(Math.round(row.floorMs)),
    row.floorMs === undefined ? '' : `${(row.ms / row.floorMs).toFixed(2)}×`,
    row.longestTaskMs === undefined ? '' : String(row.longestTaskMs),
    row.yjsMs === undefined ? '' : n(Math.round(row.yjsMs)),
    row.yjsLongestTaskMs === undefined ? '' : String(row.yjsLongestTaskMs),
    row.target?.text ?? '',
    row.target ? (row.target.met ? 'met' : 'MISSED') : '',
    row.note ?? '',
  ]);
  return [
    `Browser, Chromium ${results.chromium} headless, profile on disk; the floor is raw IndexedDB ` +
      'doing the same puts (a record and an event per change, one transaction per page of 1,000 ' +
      "or per batch); long tasks are the page's, over 50 ms; Yjs is y-websocket into y-indexeddb",
    ...tableLines(header, body, [1, 2, 3, 4, 5, 6]),
  ].join('\n');
}

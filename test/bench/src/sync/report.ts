/** The one table of `pnpm bench`, its notes, the JSON file and the SVG chart. */

import { loadNotes, loadRows } from './report-load.js';
import { periodicNote, periodicRows } from './report-periodic.js';
import type { BenchResults, Runs } from './run.js';
import type { CatchUpReport } from './scenarios/catchup.js';
import { PACE_MS } from './scenarios/latency.js';
import { WRITES_BETWEEN_YIELDS } from './scenarios/push.js';
import { MB } from './stats.js';

export interface Target {
  text: string;
  met: boolean;
}

/** One line of the table; ratios are ours ÷ baseline. */
export interface Row {
  section: string;
  label: string;
  unit: 'ms' | 'events/s' | 'frames/s' | 'MB' | 'KB' | '%' | 'count';
  ours?: number;
  relay?: number;
  yjs?: number;
  target?: Target;
}

const KB = 1024;

function largest<T>(runs: Runs<T>, key: (run: T) => number): number {
  return Math.max(...runs.runs.map(key));
}

export function tableRows(results: BenchResults): Row[] {
  const { relay, ours, yjs } = results;
  const rows: Row[] = [];
  const relayP50 = relay.latency.latencyMs.p50;
  rows.push(
    { section: '1', label: 'relay latency p50 (A → relay → B)', unit: 'ms', relay: relayP50 },
    {
      section: '1',
      label: 'relay latency p99',
      unit: 'ms',
      relay: relay.latency.latencyMs.p99,
    },
    {
      section: '1',
      label: 'relay pipelined throughput (no ack)',
      unit: 'frames/s',
      relay: relay.throughput.median.messagesPerSecond,
    },
  );
  for (const [name, latency] of [
    ['ws', ours.latencyWs],
    ['socket.io', ours.latencySocketIo],
  ] as const) {
    const p50 = latency.latencyMs.p50;
    rows.push(
      {
        section: '2',
        label: `write → other client's watch p50, ${name}`,
        unit: 'ms',
        ours: p50,
        relay: relayP50,
        yjs: yjs.latency.latencyMs.p50,
        target: {
          text: '≤ 3× relay, < Yjs',
          met: p50 <= 3 * relayP50 && p50 < yjs.latency.latencyMs.p50,
        },
      },
      {
        section: '2',
        label: `write → other client's watch p99, ${name}`,
        unit: 'ms',
        ours: latency.latencyMs.p99,
        relay: relay.latency.latencyMs.p99,
        yjs: yjs.latency.latencyMs.p99,
      },
    );
  }
  rows.push({
    section: '2',
    label: '… p50, ws, our server on its in-memory store',
    unit: 'ms',
    ours: ours.latencyWsMemoryStore.latencyMs.p50,
    relay: relayP50,
    yjs: yjs.latency.latencyMs.p50,
  });
  rows.push({
    section: '2',
    label: '… p50, ws, SQLite commits on the event loop (--sqlite-writer inline)',
    unit: 'ms',
    ours: ours.latencyWsInline.latencyMs.p50,
    relay: relayP50,
    yjs: yjs.latency.latencyMs.p50,
  });
  rows.push({
    section: '2',
    label: '… p50, our SQLite store alone: one commit with fsync',
    unit: 'ms',
    ours: ours.sqliteCommit.commitMs.p50,
  });
  const push = ours.push.median.eventsPerSecond;
  rows.push(
    {
      section: '3',
      label: `push ${results.config.pushRecords.toLocaleString('en-US')} records until acked`,
      unit: 'events/s',
      ours: push,
      relay: relay.throughput.median.messagesPerSecond,
      yjs: yjs.push.median.eventsPerSecond,
      target: { text: '≥ 50,000', met: push >= 50_000 },
    },
    {
      section: '3',
      label: 'push: server CPU per 1,000 events',
      unit: 'ms',
      ours: (ours.push.median.cost.serverCpuMs / ours.push.median.records) * 1000,
      relay: (relay.throughput.median.cost.serverCpuMs / relay.throughput.median.messages) * 1000,
      yjs: (yjs.push.median.cost.serverCpuMs / yjs.push.median.records) * 1000,
    },
    {
      section: '3',
      label: 'push: client CPU per 1,000 events',
      unit: 'ms',
      ours: (ours.push.median.cost.clientCpuMs / ours.push.median.records) * 1000,
      relay: (relay.throughput.median.cost.clientCpuMs / relay.throughput.median.messages) * 1000,
      yjs: (yjs.push.median.cost.clientCpuMs / yjs.push.median.records) * 1000,
    },
  );
  const memoryRate = ours.catchUpMemory.median.eventsPerSecond;
  const yjsRate = yjs.catchUp.median.eventsPerSecond;
  const heap = (runs: Runs<CatchUpReport>) => largest(runs, (run) => run.client.peakHeapUsed) / MB;
  rows.push(
    {
      section: '4',
      label: 'catch-up into memory storage',
      unit: 'events/s',
      ours: memoryRate,
      yjs: yjsRate,
      target: { text: '≥ 100,000, > Yjs', met: memoryRate >= 100_000 && memoryRate > yjsRate },
    },
    {
      section: '4',
      label: 'catch-up into sql.js (file persister)',
      unit: 'events/s',
      ours: ours.catchUpSqlJs.median.eventsPerSecond,
      yjs: yjsRate,
    },
    {
      section: '4',
      label: 'catch-up client peak heap, memory storage',
      unit: 'MB',
      ours: heap(ours.catchUpMemory),
      yjs: heap(yjs.catchUp),
      target: { text: '< 150 MB', met: heap(ours.catchUpMemory) < 150 },
    },
    {
      section: '4',
      label: 'catch-up client peak heap, sql.js',
      unit: 'MB',
      ours: heap(ours.catchUpSqlJs),
      yjs: heap(yjs.catchUp),
      target: { text: '< 150 MB', met: heap(ours.catchUpSqlJs) < 150 },
    },
    {
      section: '4',
      label: 'catch-up client heap kept after sync (after GC), memory',
      unit: 'MB',
      ours: largest(ours.catchUpMemory, (run) => run.client.retainedHeapUsed) / MB,
      yjs: largest(yjs.catchUp, (run) => run.client.retainedHeapUsed) / MB,
    },
    {
      section: '4',
      label: 'catch-up client peak RSS (VmHWM), memory',
      unit: 'MB',
      ours: largest(ours.catchUpMemory, (run) => run.client.peakRss) / MB,
      yjs: largest(yjs.catchUp, (run) => run.client.peakRss) / MB,
    },
    {
      section: '4',
      label: 'catch-up client peak RSS (VmHWM), sql.js',
      unit: 'MB',
      ours: largest(ours.catchUpSqlJs, (run) => run.client.peakRss) / MB,
      yjs: largest(yjs.catchUp, (run) => run.client.peakRss) / MB,
    },
    {
      section: '4',
      label: 'catch-up server RSS growth (peak − start)',
      unit: 'MB',
      ours: largest(ours.catchUpMemory, (run) => run.server.peakRss - run.server.startRss) / MB,
      yjs: largest(yjs.catchUp, (run) => run.server.peakRss - run.server.startRss) / MB,
    },
  );
  const fanP99 = ours.fanOut.allReceivedMs.p99;
  rows.push(
    {
      section: '5',
      label: `fan-out to ${ours.fanOut.clients}: all have it, p50`,
      unit: 'ms',
      ours: ours.fanOut.allReceivedMs.p50,
      yjs: yjs.fanOut.allReceivedMs.p50,
    },
    {
      section: '5',
      label: `fan-out to ${ours.fanOut.clients}: all have it, p99`,
      unit: 'ms',
      ours: fanP99,
      yjs: yjs.fanOut.allReceivedMs.p99,
      target: {
        text: '< 100 ms, < Yjs',
        met: fanP99 < 100 && fanP99 < yjs.fanOut.allReceivedMs.p99,
      },
    },
    {
      section: '5',
      label: 'fan-out: each delivery, p50',
      unit: 'ms',
      ours: ours.fanOut.deliveryMs.p50,
      yjs: yjs.fanOut.deliveryMs.p50,
    },
    {
      section: '5',
      label: 'fan-out: each delivery, p99',
      unit: 'ms',
      ours: ours.fanOut.deliveryMs.p99,
      yjs: yjs.fanOut.deliveryMs.p99,
    },
    {
      section: '6',
      label: `server RSS per idle connection (${ours.idle.connections.toLocaleString('en-US')}, after GC)`,
      unit: 'KB',
      ours: ours.idle.rssPerConnection / KB,
      yjs: yjs.idle.rssPerConnection / KB,
      target: { text: '< 50 KB', met: ours.idle.rssPerConnection / KB < 50 },
    },
    {
      section: '6',
      label: 'server heap per idle connection (after GC)',
      unit: 'KB',
      ours: ours.idle.heapPerConnection / KB,
      yjs: yjs.idle.heapPerConnection / KB,
    },
  );
  if (ours.nodes.ran) {
    const { sameNode, acrossNodes, nodes } = ours.nodes;
    rows.push(
      {
        section: '7',
        label: `write → watch p50, ${nodes} nodes on PostgreSQL, same node`,
        unit: 'ms',
        ours: sameNode.latencyMs.p50,
      },
      {
        section: '7',
        label: '… p99, same node',
        unit: 'ms',
        ours: sameNode.latencyMs.p99,
      },
      {
        section: '7',
        label: '… p50, written on node A, seen on node C',
        unit: 'ms',
        ours: acrossNodes.latencyMs.p50,
      },
      {
        section: '7',
        label: '… p99, written on node A, seen on node C',
        unit: 'ms',
        ours: acrossNodes.latencyMs.p99,
      },
    );
  }
  rows.push(...loadRows(results.load));
  rows.push(...periodicRows(ours.periodic, ours.latencyWs));
  return rows;
}

export function notes(results: BenchResults): string[] {
  const { config } = results;
  const lines = [
    'Ratios are ours ÷ baseline: below 1× is better for ms, MB and KB, above 1× is better for rates.',
    'Yjs peer: yjs 13.6.33 + y-websocket 3.1.0 clients (disableBc), @y/websocket-server 0.1.5 server. ' +
      'ITS SERVER KEEPS EVERYTHING IN MEMORY; ours commits every batch to SQLite (WAL, full fsync) before it acknowledges.',
    'Yjs has no acknowledgement: a Yjs push counts until the writer gets the echo of its last update from the server.',
    `Latency: sequential writes, one starting at most every ${PACE_MS} ms so no connection exceeds our server's default ` +
      `rate limit (a rate-limited push is sent again after a pause, which would show as a latency outlier); ` +
      `${config.latency.warmup} warm-up writes are not counted; memory storage on both clients. ` +
      'The "in-memory store" row runs our server with --store memory: the difference to the row above is the SQLite commit with fsync. ' +
      'The "store alone" row times that commit by itself (one event per commit, paced the same way, no network): the floor durability puts under our latency on this disk.',
    `Push: each record its own upsert / set; the writer yields to the event loop every ${WRITES_BETWEEN_YIELDS} writes. ` +
      'The relay column is frames of one event each, sent back to back with nothing stored or acknowledged.',
    `Push and catch-up: median of ${config.runs} runs; memory figures are the largest of the runs. ` +
      'Catch-up clients run in their own process; heap is sampled every 2 ms, RSS is the kernel high-water mark.',
    'Order on each server: latency, fan-out, idle connections, then the bulk push and catch-up runs. Run after ' +
      "300,000 pushed events, the disk is busy writing back for a while: commits slow down. They run in the store's " +
      'writer thread, so a slow one delays its own pushes, not the other connections. That thread costs each ' +
      'commit a hand-over and back (the --sqlite-writer inline row shows the latency without it).',
    'Fan-out subscribers are raw connections spread over worker processes (ours: authenticated protocol sessions; ' +
      'Yjs: WebSocket connections to the room). Both kinds recognise the event frame by its first bytes and count it ' +
      '(the n-th frame is event n) without decoding it: the figure is delivery, not applying. The writer is a real client.',
    results.ours.nodes.ran
      ? `Nodes: ${results.ours.nodes.nodes} server processes on one private PostgreSQL, live events between them through the database (LISTEN/NOTIFY); ` +
        `${config.nodesLatency.writes} paced writes after ${config.nodesLatency.warmup} warm-up ones, the writer on the first node, the reader on it and then on the last.`
      : `Nodes: not run (${results.ours.nodes.reason}).`,
    'Servers run as child processes (ours: the local-first-server command, SQLite in a temp dir, default limits); server ' +
      'memory and CPU come from /proc. For the idle figure the servers run with --expose-gc and a benchmark preload ' +
      '(gc-hook.mjs) that collects on request; the server code has no benchmark hooks.',
    ...loadNotes(results.load),
    periodicNote(results.ours.periodic),
    'The storage benchmark is not part of this run: `pnpm --filter @local-first/bench bench:storage`.',
  ];
  if (results.scale !== 1)
    lines.unshift(`SCALED RUN (BENCH_SCALE=${results.scale}): sizes are below the targets' sizes.`);
  return lines;
}

export function formatValue(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
    case 'events/s':
    case 'frames/s':
      return `${Math.round(value).toLocaleString('en-US')}/s`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    case 'KB':
      return `${value.toFixed(1)} KB`;
    case '%':
      return `${value.toFixed(1)} %`;
    case 'count':
      return Math.round(value).toLocaleString('en-US');
  }
}

export function formatRatio(ours: number | undefined, baseline: number | undefined): string {
  if (ours === undefined || baseline === undefined || !(baseline > 0)) return '';
  return `${(ours / baseline).toFixed(2)}×`;
}

export function renderTable(results: BenchResults, rows: Row[]): string {
  const header = [
    '#',
    'measurement',
    'ours',
    'raw relay',
    '÷relay',
    'Yjs',
    '÷Yjs',
    'target',
    'met',
  ];
  const body = rows.map((row) => [
    row.section,
    row.label,
    formatValue(row.ours, row.unit),
    formatValue(row.relay, row.unit),
    formatRatio(row.ours, row.relay),
    formatValue(row.yjs, row.unit),
    formatRatio(row.ours, row.yjs),
    row.target?.text ?? '',
    row.target ? (row.target.met ? 'met' : 'MISSED') : '',
  ]);
  const met = rows.filter((row) => row.target?.met).length;
  const targets = rows.filter((row) => row.target).length;
  return [
    `Sync benchmark, ${results.startedAt}, ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}; ` +
      `whole run ${(results.durationMs / 1000).toFixed(0)} s; targets met: ${met} of ${targets}`,
    '',
    ...tableLines(header, body, [2, 3, 4, 5, 6]),
    '',
    ...notes(results).map((note) => `- ${note}`),
  ].join('\n');
}

/** Bars of ours and the Yjs peer (and the relay where it applies), each row scaled to its largest. */
export function renderSvg(rows: Row[]): string {
  const compared = rows.filter((row) => row.ours !== undefined && row.yjs !== undefined);
  const barHeight = 10;
  const rowHeight = 3 * barHeight + 14;
  const left = 330;
  const width = 900;
  const plot = width - left - 110;
  const height = compared.length * rowHeight + 50;
  const escapeXml = (text: string) =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const series = [
    { key: 'ours', color: '#2f6fdf' },
    { key: 'yjs', color: '#e08a1e' },
    { key: 'relay', color: '#8a8a8a' },
  ] as const;
  const parts = compared.map((row, index) => {
    const top = 40 + index * rowHeight;
    const largestValue = Math.max(...series.map((entry) => row[entry.key] ?? 0));
    const bars = series
      .filter((entry) => row[entry.key] !== undefined)
      .map((entry, position) => {
        const value = row[entry.key]!;
        const length = largestValue > 0 ? (value / largestValue) * plot : 0;
        const y = top + position * barHeight;
        return (
          `<rect x="${left}" y="${y}" width="${length.toFixed(1)}" height="${barHeight - 2}" fill="${entry.color}"/>` +
          `<text x="${(left + length + 4).toFixed(1)}" y="${y + barHeight - 3}" font-size="9">${escapeXml(formatValue(value, row.unit))}</text>`
        );
      })
      .join('');
    const mark = row.target ? (row.target.met ? ' ✓' : ' ✗') : '';
    return `<text x="${left - 8}" y="${top + barHeight + 4}" font-size="11" text-anchor="end">${escapeXml(`${row.section}. ${row.label}${mark}`)}</text>${bars}`;
  });
  const legend = series
    .map(
      (entry, index) =>
        `<rect x="${left + index * 110}" y="12" width="10" height="10" fill="${entry.color}"/><text x="${left + index * 110 + 14}" y="21" font-size="11">${entry.key === 'yjs' ? 'Yjs' : entry.key === 'relay' ? 'raw relay' : 'ours'}</text>`,
    )
    .join('');
  const caption = `<text x="8" y="${height - 10}" font-size="11" fill="#555">each row scaled to its largest value; ✓ target met, ✗ missed</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${caption}${legend}${parts.join('')}</svg>\n`;
}

/** A Markdown table, columns padded to one width; `numeric` columns are aligned right. */
export function tableLines(
  header: readonly string[],
  body: readonly string[][],
  numeric: readonly number[],
): string[] {
  const all = [header, ...body];
  const widths = header.map((_, column) => Math.max(...all.map((line) => line[column]!.length)));
  const right = new Set(numeric);
  const line = (cells: readonly string[]) =>
    `| ${cells
      .map((cell, column) =>
        right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...body.map(line),
  ];
}

/** The rows and notes of the load scenarios (sections 8–10 of the table). */
import { formatRatio, formatValue, type Row, tableLines } from './report.js';
import type { LoadOnlyResults } from './run.js';
import type { LoadResults } from './run-load.js';
import { MB } from './stats.js';

const KB = 1024;

/**
 * 100 concurrent writers on the code before group commit and coalesced writes (commit 94dd30d),
 * with this benchmark's writers, measured on this machine on 2026-12-02 (two runs: 835 and 793
 * acked events/s; p50 116–121 ms, p99 148–187 ms). Printed beside each run's own figure without
 * group commit, which keeps the coalesced writes.
 */
export const BEFORE = { commit: '94dd30d', eventsPerSecond: 835, p50: 116, p99: 148 } as const;

export function loadRows(load: LoadResults): Row[] {
  const { writers, slowReader, connections } = load;
  const { groupCommit, inline, oneCommitPerPush } = writers;
  const reader = slowReader.ours;
  const fanOut = connections.ours.fanOut.allReceivedMs;
  const n = (value: number) => value.toLocaleString('en-US');
  return [
    {
      section: '8',
      label: `slow reader: server RSS growth, ${n(reader.events)} × ${n(reader.payloadBytes)} B broadcast to a non-reader`,
      unit: 'MB',
      ours: reader.growthBytes / MB,
      yjs: slowReader.yjs.growthBytes / MB,
      target: { text: '< 64 MB', met: reader.growthBytes < 64 * MB },
    },
    {
      section: '8',
      label: '… events the slow reader has once it reads again (it catches up from its cursor)',
      unit: 'count',
      ours: reader.readerHas,
      yjs: slowReader.yjs.readerHas,
      target: { text: `all ${n(reader.events)}`, met: reader.readerHas === reader.events },
    },
    {
      section: '9',
      label: `${groupCommit.writers} concurrent writers, each awaiting its ack: acked events/s (SQLite, fsync, writer thread)`,
      unit: 'events/s',
      ours: groupCommit.eventsPerSecond,
      target: {
        text: `≥ 5 × ${n(BEFORE.eventsPerSecond)}/s (before, ${BEFORE.commit})`,
        met: groupCommit.eventsPerSecond >= 5 * BEFORE.eventsPerSecond,
      },
    },
    {
      section: '9',
      label: '… ack latency p50',
      unit: 'ms',
      ours: groupCommit.latencyMs.p50,
    },
    {
      section: '9',
      label: '… ack latency p99',
      unit: 'ms',
      ours: groupCommit.latencyMs.p99,
      target: { text: '< 50 ms', met: groupCommit.latencyMs.p99 < 50 },
    },
    {
      section: '9',
      label:
        '… the same run with --sqlite-writer inline (group commit on the event loop): acked events/s',
      unit: 'events/s',
      ours: inline.eventsPerSecond,
    },
    {
      section: '9',
      label: '… with --sqlite-writer inline: ack latency p99',
      unit: 'ms',
      ours: inline.latencyMs.p99,
    },
    {
      section: '9',
      label: '… the same run with --group-commit off (one commit per push): acked events/s',
      unit: 'events/s',
      ours: oneCommitPerPush.eventsPerSecond,
    },
    {
      section: '9',
      label: '… with --group-commit off: ack latency p99',
      unit: 'ms',
      ours: oneCommitPerPush.latencyMs.p99,
    },
    {
      section: '10',
      label: `${n(connections.ours.connections)} idle connections with heartbeats: server RSS each (after GC)`,
      unit: 'KB',
      ours: connections.ours.rssPerConnection / KB,
      yjs: connections.yjs.rssPerConnection / KB,
      target: { text: '< 10 KB', met: connections.ours.rssPerConnection / KB < 10 },
    },
    {
      section: '10',
      label: `… server CPU over ${connections.ours.holdMs / 1000} s held (heartbeats only)`,
      unit: '%',
      ours: connections.ours.heartbeatCpuPercent,
      yjs: connections.yjs.heartbeatCpuPercent,
    },
    {
      section: '10',
      label: '… fan-out of one write until all have it, p50',
      unit: 'ms',
      ours: fanOut.p50,
      yjs: connections.yjs.fanOut.allReceivedMs.p50,
    },
    {
      section: '10',
      label: '… fan-out until all have it, p99',
      unit: 'ms',
      ours: fanOut.p99,
      yjs: connections.yjs.fanOut.allReceivedMs.p99,
      target: { text: '< 500 ms', met: fanOut.p99 < 500 },
    },
  ];
}

export function loadNotes(load: LoadResults): string[] {
  const { ours, yjs } = load.slowReader;
  return [
    'Slow reader: a raw connection subscribes, then stops reading its socket (TCP paused) while a raw writer pushes ' +
      'the events in batches of 100 (four in flight); the growth is the largest server RSS, sampled every 50 ms until 2 s ' +
      `after the last ack, minus the RSS after a collection before. Ours then got ${ours.lagging ?? 0} lagging notice(s) and ` +
      `${ours.cuts ?? 0} 4413 close(s), and caught up from its cursor in ${(ours.catchUpMs / 1000).toFixed(1)} s. ` +
      `The Yjs server keeps the whole document in memory (its growth includes the data itself) and ${yjs.closed ? 'closed the non-reading connection (no pong)' : 'kept the connection'}; ` +
      'its reader counts update frames.',
    `Writers: ${load.writers.groupCommit.writers} raw connections in one worker process, each pushing one event and ` +
      `awaiting its ack (${load.writers.groupCommit.latencyMs.count.toLocaleString('en-US')} acks in the run); every writer also ` +
      "receives the others' events live (skipped unparsed): each acked event is written to 99 sockets, so the " +
      'fan-out, not the commit, bounds this figure on a machine whose two cores also run the writers. Before this work (commit ' +
      `${BEFORE.commit}) the same writers got ${BEFORE.eventsPerSecond}/s, p50 ${BEFORE.p50} ms, p99 ${BEFORE.p99} ms on this machine; ` +
      'the --group-commit off row keeps the coalesced socket writes, so it shows what group commit alone adds.',
    `Connections: raw authenticated sessions in two worker processes, held idle with the server's heartbeat (ping every 30 s); ` +
      'RSS each is the settled server RSS with them open minus before, after a collection. The process needs one file ' +
      'descriptor per connection: `ulimit -n` at least the connections plus a hundred (this machine: see `ulimit -n`).',
  ];
}

/** The load group's own table (`BENCH_ONLY=load`): ours beside Yjs where it applies. */
export function renderLoadTable(run: LoadOnlyResults, rows: Row[] = loadRows(run.load)): string {
  const header = ['#', 'measurement', 'ours', 'Yjs', '÷Yjs', 'target', 'met'];
  const body = rows.map((row) => [
    row.section,
    row.label,
    formatValue(row.ours, row.unit),
    formatValue(row.yjs, row.unit),
    formatRatio(row.ours, row.yjs),
    row.target?.text ?? '',
    row.target ? (row.target.met ? 'met' : 'MISSED') : '',
  ]);
  const targets = rows.filter((row) => row.target);
  const met = targets.filter((row) => row.target!.met).length;
  const { machine, scale } = run;
  return [
    `Load, ${run.startedAt}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}` +
      `${scale === 1 ? '' : ` (SCALED RUN, BENCH_SCALE=${scale})`}; ` +
      `group ${(run.durationMs / 1000).toFixed(0)} s; targets met: ${met} of ${targets.length}`,
    '',
    ...tableLines(header, body, [2, 3, 4]),
    '',
    ...loadNotes(run.load).map((note) => `- ${note}`),
  ].join('\n');
}

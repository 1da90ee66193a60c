/**
 * Smoke test of the sync benchmark: every scenario runs end to end with tiny sizes against the
 * real server processes, and what each one moved arrived. It checks correctness only; the
 * figures of a run this small mean nothing and nothing here looks at speed.
 */
import { describe, expect, it } from 'vitest';
import { SMOKE_CONFIG } from '../src/sync/config.js';
import { renderSvg, renderTable, tableRows } from '../src/sync/report.js';
import { renderWatchTable, watchRows } from '../src/sync/report-watch.js';
import { runBenchmark } from '../src/sync/run.js';

describe('pnpm bench harness', () => {
  it('runs every scenario with tiny sizes and reports them', async () => {
    const config = SMOKE_CONFIG;
    const results = await runBenchmark(config);
    const { relay, ours, yjs } = results;

    for (const latency of [
      relay.latency,
      ours.latencyWs,
      ours.latencyWsMemoryStore,
      ours.latencyWsInline,
      ours.latencySocketIo,
      yjs.latency,
    ]) {
      expect(latency.latencyMs.count).toBe(config.latency.writes);
      expect(latency.latencyMs.p50).toBeGreaterThan(0);
    }
    expect(relay.throughput.median.messages).toBe(config.relayFrames);
    expect(ours.sqliteCommit.commitMs.count).toBe(config.latency.writes);

    for (const push of [ours.push, yjs.push]) {
      expect(push.runs).toHaveLength(config.runs);
      expect(push.median.records).toBe(config.pushRecords);
    }
    for (const catchUp of [ours.catchUpMemory, ours.catchUpSqlJs, yjs.catchUp]) {
      expect(catchUp.runs).toHaveLength(config.runs);
      for (const run of catchUp.runs) {
        expect(run.events).toBe(config.pushRecords);
        expect(run.client.peakHeapUsed).toBeGreaterThan(0);
        expect(run.server.peakRss).toBeGreaterThan(0);
      }
    }
    for (const fanOut of [ours.fanOut, yjs.fanOut]) {
      expect(fanOut.clients).toBe(config.fanOut.clients);
      expect(fanOut.allReceivedMs.count).toBe(config.fanOut.events);
      expect(fanOut.deliveryMs.count).toBe(config.fanOut.events * config.fanOut.clients);
    }
    for (const idle of [ours.idle, yjs.idle]) {
      expect(idle.connections).toBe(config.idleConnections);
      expect(idle.collected).toBe(true);
      expect(idle.after.rss).toBeGreaterThan(0);
    }

    // Periodic clients: every write reached every reader; idle clients were counted.
    expect(ours.periodic.latencyMs.count).toBe(config.periodic.writes * config.periodic.readers);
    expect(ours.periodic.idle.periodicRequestsPerMinute).toBeGreaterThan(0);
    expect(ours.periodic.idle.webSocketBytesPerMinute).toBeGreaterThanOrEqual(0);

    // Three nodes on one PostgreSQL, where this machine has it (DESIGN.md: installed by .ci).
    if (ours.nodes.ran) {
      expect(ours.nodes.sameNode.latencyMs.count).toBe(config.nodesLatency.writes);
      expect(ours.nodes.acrossNodes.latencyMs.count).toBe(config.nodesLatency.writes);
    } else {
      console.warn(`[bench] the nodes scenario did not run: ${ours.nodes.reason}`);
    }

    // Load: every writer's pushes acknowledged, the slow reader ends up with every event.
    const { load } = results;
    for (const writers of [
      load.writers.oneCommitPerPush,
      load.writers.inline,
      load.writers.groupCommit,
    ]) {
      expect(writers.failed).toBe(0);
      expect(writers.acked).toBeGreaterThan(0);
      expect(writers.latencyMs.count).toBe(writers.acked);
    }
    expect(load.slowReader.ours.readerHas).toBe(config.load.slowReaderEvents);
    expect(load.slowReader.yjs.readerHas).toBe(config.load.slowReaderEvents);
    for (const many of [load.connections.ours, load.connections.yjs]) {
      expect(many.connections).toBe(config.load.connections);
      expect(many.fanOut.allReceivedMs.count).toBe(config.load.fanOutEvents);
      expect(many.heartbeatCpuPercent).toBeGreaterThanOrEqual(0);
    }

    // Watches and batched writes: every client holds every record, each watch emitted.
    const { watch } = results;
    const records = config.watch.records;
    const { local, push, catchUp } = watch;
    const locals = [local.single, local.upsertMany, local.transaction];
    const pushes = [push.ours.none, push.ours.watched, push.yjs];
    const catchUps = [
      catchUp.memory.none,
      catchUp.memory.all,
      catchUp.memory.filtered,
      catchUp.sqljs.none,
      catchUp.sqljs.watched,
      catchUp.yjs,
    ];
    for (const runs of [...locals.flatMap((pair) => [pair.none, pair.watched]), ...catchUps])
      expect(runs.runs).toHaveLength(config.watch.runs);
    const runs = [
      ...locals.flatMap((pair) => [...pair.none.runs, ...pair.watched.runs]),
      ...pushes.flatMap((pair) => pair.runs.flatMap((run) => [run.writer, run.reader])),
      ...catchUps.flatMap((pair) => pair.runs),
    ];
    for (const run of runs) {
      expect(run.count).toBe(records);
      expect(run.errors).toEqual([]);
      expect(run.cpuMs).toBeGreaterThan(0);
    }
    for (const run of [
      ...locals.map((pair) => pair.watched.median),
      push.ours.watched.median.reader,
      push.yjs.median.reader,
      catchUp.memory.all.median,
      catchUp.memory.filtered.median,
      catchUp.sqljs.watched.median,
      catchUp.yjs.median,
    ])
      expect(run.emissions).toBeGreaterThan(0);
    expect(local.upsertMany.watched.median.api).toBe('upsertMany');
    expect(local.transaction.watched.median.api).toBe('transaction');
    const watchTable = watchRows(watch);
    expect(watchTable.filter((row) => row.target)).toHaveLength(9);
    const watchText = renderWatchTable(results, watchTable);
    for (const row of watchTable) expect(watchText).toContain(row.label);

    const rows = tableRows(results);
    expect(rows.filter((row) => row.target)).toHaveLength(15);
    const table = renderTable(results, rows);
    for (const row of rows) expect(table).toContain(row.label);
    expect(renderSvg(rows)).toMatch(/^<svg /);
    expect(JSON.parse(JSON.stringify(results)).config).toEqual(config);
  }, 480_000);
});

/**
 * Catch-up: the server holds many events; a fresh client in its own process syncs them all.
 * Reports events per second, the client's peak heap and resident memory, and the server's.
 */
import { CpuWatch, MemoryWatch } from '../proc.js';
import { type Child, closeWorker, startWorker } from '../processes.js';
import type { CatchUpParameters, CatchUpResult } from '../worker.js';

export interface CatchUpReport {
  events: number;
  eventsPerSecond: number;
  syncMs: number;
  /** sql.js: the final save on close, ms (not part of `syncMs`). */
  closeMs: number;
  client: {
    peakHeapUsed: number;
    baselineHeapUsed: number;
    retainedHeapUsed: number;
    peakRss: number;
  };
  server: { startRss: number; peakRss: number; cpuMs: number };
}

/** Runs one catch-up client (`catchup-ours` or `catchup-yjs`) against `server`. */
export async function catchUp(
  server: Child,
  role: 'catchup-ours' | 'catchup-yjs',
  parameters: CatchUpParameters,
): Promise<CatchUpReport> {
  const worker = startWorker(role, parameters);
  try {
    await worker.next('ready', 120_000);
    const memory = new MemoryWatch(server.pid);
    const cpu = new CpuWatch(server.pid);
    worker.send({ type: 'go' });
    const result = await worker.next<CatchUpResult>('result', 600_000);
    const serverMemory = memory.stop();
    if (result.count !== parameters.expected)
      throw new Error(`${role}: the client holds ${result.count} of ${parameters.expected} events`);
    return {
      events: result.count,
      eventsPerSecond: result.count / (result.syncMs / 1000),
      syncMs: result.syncMs,
      closeMs: result.closeMs,
      client: {
        peakHeapUsed: result.peakHeapUsed,
        baselineHeapUsed: result.baselineHeapUsed,
        retainedHeapUsed: result.retainedHeapUsed,
        peakRss: result.peakRss,
      },
      server: { startRss: serverMemory.startRss, peakRss: serverMemory.peakRss, cpuMs: cpu.stop() },
    };
  } finally {
    await closeWorker(worker);
  }
}

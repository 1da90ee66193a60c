/**
 * Server memory per idle connection: the server's resident set after a full collection, with
 * no connections and with many authenticated, idle ones opened from a separate process.
 */
import { type Child, closeWorker, startWorker } from '../processes.js';
import { sleep } from '../stats.js';

export interface IdleResult {
  connections: number;
  /** After a collection, bytes. */
  before: { rss: number; heapUsed: number };
  after: { rss: number; heapUsed: number };
  rssPerConnection: number;
  heapPerConnection: number;
  /** Whether the server could collect garbage on request (it runs with --expose-gc). */
  collected: boolean;
}

/** Lets the server settle, collects, and reads its memory (VmRSS from /proc, heap from the hook). */
export async function settled(
  server: Child,
): Promise<{ rss: number; heapUsed: number; collected: boolean }> {
  await sleep(500);
  const collected = await server.collect();
  await sleep(200);
  return { rss: server.memory().rss, heapUsed: collected.heapUsed, collected: collected.collected };
}

export async function idleConnections(
  server: Child,
  role: 'idle-ours' | 'idle-yjs',
  url: string,
  connections: number,
): Promise<IdleResult> {
  const before = await settled(server);
  const worker = startWorker(role, { url, name: 'idle', connections });
  try {
    const ready = await worker.next<{ type: string; opened: number }>('ready', 300_000);
    if (ready.opened !== connections)
      throw new Error(`${role}: opened ${ready.opened} of ${connections} connections`);
    const after = await settled(server);
    return {
      connections,
      before: { rss: before.rss, heapUsed: before.heapUsed },
      after: { rss: after.rss, heapUsed: after.heapUsed },
      rssPerConnection: (after.rss - before.rss) / connections,
      heapPerConnection: (after.heapUsed - before.heapUsed) / connections,
      collected: before.collected && after.collected,
    };
  } finally {
    await closeWorker(worker);
  }
}

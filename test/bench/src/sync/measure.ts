/** What every scenario reports besides its own figures: time and CPU on both sides. */

import { CpuWatch } from './proc.js';
import type { Child } from './processes.js';

export interface CostReport {
  /** Wall time of the measured part, ms. */
  wallMs: number;
  /** CPU time of the server process over it, ms. */
  serverCpuMs: number;
  /** CPU time of this (client) process over it, ms. */
  clientCpuMs: number;
}

/** Measures wall time and the CPU of this process and of a server while `work` runs. */
export async function withCost<T>(
  server: Child,
  work: () => Promise<T>,
): Promise<{ result: T; cost: CostReport }> {
  const serverCpu = new CpuWatch(server.pid);
  const clientCpu = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(clientCpu);
  return {
    result,
    cost: {
      wallMs,
      serverCpuMs: serverCpu.stop(),
      clientCpuMs: (used.user + used.system) / 1000,
    },
  };
}

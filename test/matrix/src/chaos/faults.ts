import { setTimeout as wait } from 'node:timers/promises';
import type { ClientCrash, ClientProcess } from './client-process.js';
import type { StallWindow } from './liveness.js';
import type { ChaosProxy } from './proxy.js';
import { type Fault, seconds } from './schedule.js';
import type { ChaosServer } from './server.js';

export interface FaultTargets {
  server: ChaosServer;
  /** One per client, same index. */
  proxies: readonly ChaosProxy[];
  clients: readonly ClientProcess[];
  log: (line: string) => void;
}

/**
 * Plays a fault plan against the running parts. Link faults act at once; a server kill, a
 * client kill and a crashed client's restart take time, so each target's actions run one after
 * the other on a chain of their own, and `stop()` waits for every chain to settle.
 */
export class FaultRunner {
  readonly timeline: string[] = [];
  readonly errors: string[] = [];
  readonly stalls: StallWindow[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private serverChain: Promise<void> = Promise.resolve();
  private readonly clientChains = new Map<number, Promise<void>>();
  startedAt = Date.now();
  private stopped = false;

  constructor(private readonly targets: FaultTargets) {
    targets.clients.forEach((client, index) => {
      client.onCrash = (crash) => this.crashed(index, crash);
    });
    targets.server.onUnexpectedExit = (exit) => {
      this.note(
        `server incarnation ${exit.incarnation} EXITED BY ITSELF (${exit.signal ?? exit.code})`,
      );
      if (this.stopped) return;
      this.serverChain = this.serverChain.then(() =>
        this.guard('server restart after its exit', async () => {
          if (targets.server.running) return;
          await targets.server.start();
          this.note(`server listening again on port ${targets.server.port}`);
        }),
      );
    };
  }

  /** Arms every fault of the plan, relative to now. */
  start(plan: readonly Fault[]): void {
    this.startedAt = Date.now();
    for (const fault of plan) {
      // The fault schedule is what these timers are for; they synchronise nothing.
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopped) this.apply(fault);
      }, fault.atMs);
      this.timers.add(timer);
    }
  }

  note(text: string): void {
    const line = `+${seconds(Date.now() - this.startedAt)} ${text}`;
    this.timeline.push(line);
    this.targets.log(line);
  }

  private apply(fault: Fault): void {
    const { proxies, clients } = this.targets;
    switch (fault.kind) {
      case 'cut': {
        const count = proxies[fault.client]!.cut();
        this.note(`cut ${clients[fault.client]!.name} (${count} open)`);
        return;
      }
      case 'stall':
        proxies[fault.client]!.stall(fault.durationMs);
        this.stalls.push({
          client: clients[fault.client]!.name,
          startedAt: Date.now(),
          durationMs: fault.durationMs,
        });
        this.note(`stall ${clients[fault.client]!.name} for ${fault.durationMs} ms`);
        return;
      case 'delay':
        proxies[fault.client]!.delay(fault.durationMs, fault.latencyMs);
        this.note(
          `delay ${clients[fault.client]!.name} by ${fault.latencyMs} ms for ${fault.durationMs} ms`,
        );
        return;
      case 'kill-server':
        this.serverChain = this.serverChain.then(() =>
          this.guard(`server kill at ${seconds(fault.atMs)}`, () => this.killServer(fault.downMs)),
        );
        return;
      case 'kill-client':
        this.restartClient(fault.client, fault.downMs, 'SIGKILL');
        return;
    }
  }

  private async killServer(downMs: number): Promise<void> {
    const { server } = this.targets;
    await server.kill();
    this.note(`server SIGKILL (kill ${server.kills}), down for ${downMs} ms`);
    await wait(downMs);
    await server.start();
    this.note(`server listening again on port ${server.port}`);
  }

  private restartClient(index: number, downMs: number, why: string): void {
    const client = this.targets.clients[index]!;
    const chain = (this.clientChains.get(index) ?? Promise.resolve()).then(() =>
      this.guard(`${client.name} ${why}`, async () => {
        if (why === 'SIGKILL') {
          await client.kill();
          this.note(`${client.name} SIGKILL (kill ${client.kills}), down for ${downMs} ms`);
        }
        await wait(downMs);
        const ready = await client.start();
        this.note(
          `${client.name} restarted (incarnation ${ready.incarnation}, ${ready.pending} pending, ` +
            `${ready.records} records, client id ${ready.clientId})`,
        );
      }),
    );
    this.clientChains.set(index, chain);
  }

  private crashed(index: number, crash: ClientCrash): void {
    const how = crash.signal ? `signal ${crash.signal}` : `code ${crash.code}`;
    this.note(`${crash.client}#${crash.incarnation} CRASHED (${how})`);
    // Restarted like a user would, so one defect does not hide the ones after it.
    if (!this.stopped) this.restartClient(index, 0, 'restart after crash');
  }

  private async guard(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.errors.push(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      this.note(`${what} failed`);
    }
  }

  /** No new fault, and no restart after a crash, from now on. */
  halt(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Halts, and resolves once every restart under way has finished. */
  async stop(): Promise<void> {
    this.halt();
    for (;;) {
      const chains = [this.serverChain, ...this.clientChains.values()];
      await Promise.all(chains);
      const now = [this.serverChain, ...this.clientChains.values()];
      if (now.every((chain, index) => chain === chains[index]) && now.length === chains.length)
        return;
    }
  }
}

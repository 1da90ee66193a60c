import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerEvent } from '@local-first/core/adapter';
import {
  checkLocalEvents,
  checkLog,
  checkState,
  checkWrites,
  lastWriterWins,
  readServerLog,
  winners,
} from './check.js';
import { ClientProcess } from './client-process.js';
import { FaultRunner } from './faults.js';
import { checkStallsNoticed, type NoticeReport } from './liveness.js';
import { type ClientLine, REPOSITORY } from './messages.js';
import { ChaosProxy } from './proxy.js';
import { deriveSeed } from './random.js';
import { describePlan, planFaults } from './schedule.js';
import { ChaosServer } from './server.js';

type StateLine = Extract<ClientLine, { type: 'state' }>;

export interface ChaosOptions {
  seed: number;
  /** How long the clients write while faults happen. */
  durationMs: number;
  /** Half speak raw ws, half socket.io. Default 6. */
  clients?: number;
  /** Default 4. */
  serverKills?: number;
  /** Default 2. */
  clientKills?: number;
  /** Progress lines (the seed, the plan, each fault); default: none. */
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  elapsedMs: number;
  /** Empty when every check held. */
  failures: string[];
  /** Counts of what happened, one line each. */
  summary: string[];
  /** The fault plan in one line. */
  plan: string;
  /** Every fault and restart, with its time. */
  timeline: string[];
  /** Where the run's files are, when `CHAOS_KEEP_FILES` kept them. */
  keptFiles?: string;
}

/** Shared record ids: few enough that the clients' writes keep meeting. */
const RECORD_IDS = Array.from({ length: 8 }, (_, index) => `todo-${index}`);
const TIMEOUTS = {
  startMs: 30_000,
  whenSyncedMs: 30_000,
  convergeMs: 20_000,
  /** On top of the child's own deadline: room for it to report that it failed. */
  answerMarginMs: 10_000,
};
/** Short heartbeats and backoff, so dead links are found and runs stay short. */
const CLIENT_TIMING = {
  heartbeatIntervalMs: 1_000,
  pongTimeoutMs: 1_000,
  reconnectDelayMs: 100,
  maxReconnectDelayMs: 1_000,
  connectTimeoutMs: 3_000,
};
/**
 * A stalled link must be noticed within a ping interval plus the pong timeout; this much more
 * is for a busy machine's late timers.
 */
const NOTICE_SLACK_MS = 3_000;
/** Small server limits, so catch-ups page and long queues meet the batch limit. */
const SERVER_LIMITS = { maxPageEvents: 25, maxBatchEvents: 20 };

/**
 * One chaos run: a sync server on SQLite, clients in processes of their own (each on sql.js
 * saved to its own file), each behind its own faulty TCP proxy; a seeded plan of cuts, stalls,
 * delays and SIGKILLs; then healing, syncing, and the checks. `execute()` never throws for a
 * failed check: it returns them all in the report, with the evidence.
 */
export class ChaosRun {
  private directory = '';
  private server: ChaosServer | undefined;
  private readonly proxies: ChaosProxy[] = [];
  private readonly clients: ClientProcess[] = [];
  private readonly log: (line: string) => void;
  private faultsEndedAt = 0;
  private runner: FaultRunner | undefined;

  constructor(private readonly options: ChaosOptions) {
    this.log = options.log ?? (() => {});
  }

  async execute(): Promise<ChaosReport> {
    const started = Date.now();
    const failures: string[] = [];
    let plan = '';
    let events: ServerEvent[] = [];
    let notices: NoticeReport | undefined;
    try {
      await this.setUp();
      const runner = await this.chaos((text) => {
        plan = text;
      });
      notices = checkStallsNoticed(
        runner.stalls,
        new Map(this.clients.map((client) => [client.name, client.states])),
        CLIENT_TIMING.heartbeatIntervalMs + CLIENT_TIMING.pongTimeoutMs + NOTICE_SLACK_MS,
        this.faultsEndedAt,
        runner.startedAt,
      );
      failures.push(...notices.problems);
      const finished = await this.finish(failures);
      events = finished.events;
      failures.push(...this.verify(events, finished.states));
    } catch (error) {
      failures.push(`the run stopped early: ${errorText(error)}`);
    } finally {
      await this.dispose();
    }
    // Crashes first: an uncaught exception explains most of what fails after it.
    failures.unshift(...this.crashes(), ...(this.runner?.errors ?? []));
    return {
      seed: this.options.seed,
      elapsedMs: Date.now() - started,
      failures,
      summary: this.summarise(events, notices),
      plan,
      timeline: this.runner?.timeline ?? [],
      ...(process.env.CHAOS_KEEP_FILES ? { keptFiles: this.directory } : {}),
    };
  }

  private async setUp(): Promise<void> {
    const count = this.options.clients ?? 6;
    this.directory = await mkdtemp(join(tmpdir(), 'lf-chaos-'));
    const names = Array.from({ length: count }, (_, index) => `c${index + 1}`);
    const tokens = Object.fromEntries(names.map((name) => [`chaos-token-${name}`, `user-${name}`]));
    const server = new ChaosServer({
      directory: this.directory,
      tokens,
      ...SERVER_LIMITS,
      startTimeoutMs: TIMEOUTS.startMs,
    });
    this.server = server;
    await server.start();
    for (const [index, name] of names.entries()) {
      const proxy = new ChaosProxy(() => server.port);
      this.proxies.push(proxy);
      const port = await proxy.listen();
      const transport = index < Math.ceil(count / 2) ? 'ws' : 'socketio';
      this.clients.push(
        new ClientProcess(
          {
            name,
            storageFile: join(this.directory, `${name}.sqlite`),
            transport,
            url: transport === 'ws' ? `ws://127.0.0.1:${port}/sync` : `http://127.0.0.1:${port}`,
            token: `chaos-token-${name}`,
            seed: deriveSeed(this.options.seed, name),
            recordIds: RECORD_IDS,
            paceMs: [150, 450],
            deleteShare: 0.25,
            ...CLIENT_TIMING,
          },
          TIMEOUTS.startMs,
        ),
      );
    }
    await Promise.all(this.clients.map((client) => client.start()));
  }

  /** The fault phase: writes go on while the plan plays; then every fault stops and heals. */
  private async chaos(describe: (plan: string) => void): Promise<FaultRunner> {
    const server = this.server!;
    const plan = planFaults({
      seed: this.options.seed,
      durationMs: this.options.durationMs,
      clients: this.clients.length,
      serverKills: this.options.serverKills ?? 4,
      clientKills: this.options.clientKills ?? 2,
      linkFaultGapMs: [2_000, 6_000],
    });
    describe(describePlan(plan));
    this.log(`chaos plan: ${describePlan(plan)}`);
    const runner = new FaultRunner({
      server,
      proxies: this.proxies,
      clients: this.clients,
      log: this.log,
    });
    this.runner = runner;
    runner.start(plan);
    // The length of the fault phase is the one thing this timer decides.
    await new Promise((resolve) => setTimeout(resolve, this.options.durationMs));
    this.faultsEndedAt = Date.now();
    await runner.stop();
    for (const proxy of this.proxies) proxy.heal();
    if (!server.running) {
      runner.note('server found down at the end of the faults: starting it');
      await server.start();
    }
    for (const [index, client] of this.clients.entries()) {
      if (!client.alive) {
        runner.note(`${client.name} found down at the end of the faults: starting it`);
        await client.start().catch((error: unknown) => {
          runner.errors.push(`restarting ${this.clients[index]!.name} at the end failed: ${error}`);
        });
      }
    }
    runner.note('faults over, links healed');
    return runner;
  }

  /**
   * Stops the writers, waits until each has synced, then hands each the winners computed from
   * the server's log and collects its final state once it holds them.
   */
  private async finish(
    failures: string[],
  ): Promise<{ events: ServerEvent[]; states: Map<string, StateLine> }> {
    const server = this.server!;
    const live = this.clients.filter((client) => client.alive);
    for (const client of live) client.send({ type: 'sync', timeoutMs: TIMEOUTS.whenSyncedMs });
    const synced = await Promise.allSettled(
      live.map((client) =>
        client.next('synced', TIMEOUTS.whenSyncedMs + TIMEOUTS.answerMarginMs, 'sync at the end'),
      ),
    );
    synced.forEach((outcome, index) => {
      const client = live[index]!;
      if (outcome.status === 'rejected') failures.push(errorText(outcome.reason));
      else if (!outcome.value.synced)
        failures.push(
          `${client.name}: whenSynced(${TIMEOUTS.whenSyncedMs}) resolved false after the faults ` +
            `healed: ${outcome.value.pending} events still pending, connection ` +
            `${outcome.value.connection}\n${client.describe()}`,
        );
    });

    const token = `chaos-token-${this.clients[0]!.name}`;
    const pageSize = SERVER_LIMITS.maxPageEvents;
    const events = await readServerLog(server.origin, REPOSITORY, token, pageSize);
    const expected = winners(lastWriterWins(events));
    const finishing = live.filter((client) => client.alive);
    for (const client of finishing)
      client.send({
        type: 'finish',
        expected,
        events: events.length,
        timeoutMs: TIMEOUTS.convergeMs,
      });
    const states = new Map<string, StateLine>();
    const answers = await Promise.allSettled(
      finishing.map((client) =>
        client.next('state', TIMEOUTS.convergeMs + TIMEOUTS.answerMarginMs, 'final state'),
      ),
    );
    answers.forEach((outcome, index) => {
      if (outcome.status === 'rejected') failures.push(errorText(outcome.reason));
      else states.set(finishing[index]!.name, outcome.value);
    });
    for (const problem of await Promise.all(
      finishing.map((client) => client.exited(TIMEOUTS.answerMarginMs)),
    ))
      if (problem) failures.push(problem);

    const after = await readServerLog(server.origin, REPOSITORY, token, pageSize);
    if (after.length !== events.length)
      failures.push(
        `the server log grew from ${events.length} to ${after.length} events after every ` +
          'client said it was synced',
      );
    const stopped = await server.stop();
    if (stopped) failures.push(stopped);
    return { events: after, states };
  }

  private verify(events: readonly ServerEvent[], states: ReadonlyMap<string, StateLine>): string[] {
    const failures = [...checkLog(events)];
    failures.push(
      ...checkWrites(
        this.clients.flatMap((client) => client.writes),
        events,
      ),
    );
    const expected = lastWriterWins(events);
    for (const client of this.clients) {
      const line = states.get(client.name);
      if (!line) continue;
      // A diverged client's own account of its run is the first thing to read next to the diff.
      const diff = checkState(client.name, expected, line);
      if (diff.length > 0) failures.push(`${diff.join('\n')}\n${client.describe()}`);
    }
    failures.push(...checkLocalEvents(states, events, states.size === this.clients.length));
    for (const client of this.clients) {
      if (client.writeFailures.length > 0)
        failures.push(
          `${client.name}: ${client.writeFailures.length} writes rejected locally: ` +
            client.writeFailures.slice(0, 5).join('; '),
        );
      if (client.clientIds.size !== 1)
        failures.push(
          `${client.name}: the client id changed across restarts: ${[...client.clientIds].join(', ')}`,
        );
    }
    return failures;
  }

  /** Exits nobody asked for: each is a defect, reported first, with the process's output. */
  private crashes(): string[] {
    const found = this.clients.flatMap((client) =>
      client.crashes.map(
        (crash) =>
          `client ${crash.client}#${crash.incarnation} (${client.config.transport}) crashed ` +
          `(${crash.signal ? `signal ${crash.signal}` : `exit code ${crash.code}`}):\n${crash.output}`,
      ),
    );
    for (const exit of this.server?.unexpectedExits ?? [])
      found.push(
        `sync server incarnation ${exit.incarnation} exited by itself (${exit.signal ?? exit.code}):\n` +
          `  stderr:\n${exit.stderr}\n  last stdout lines:\n${exit.stdout}`,
      );
    return found;
  }

  private summarise(events: readonly ServerEvent[], notices: NoticeReport | undefined): string[] {
    const links = this.proxies.reduce(
      (total, proxy) => ({
        connections: total.connections + proxy.stats.connections,
        cuts: total.cuts + proxy.stats.cuts,
        stalls: total.stalls + proxy.stats.stalls,
        delays: total.delays + proxy.stats.delays,
      }),
      { connections: 0, cuts: 0, stalls: 0, delays: 0 },
    );
    const deletes = events.filter((event) => event.operation === 2).length;
    const lines = [
      `server log: ${events.length} events (${deletes} deletes), ${this.server?.kills ?? 0} SIGKILLs`,
      `links: ${links.connections} TCP connections, ${links.cuts} cuts, ${links.stalls} stalls, ${links.delays} delays`,
      ...this.clients.map(
        (client) =>
          `${client.name} (${client.config.transport}): ${client.writes.length} writes resolved, ` +
          `${client.connections} times connected, ${client.kills} SIGKILLs, ${client.crashes.length} crashes` +
          [...client.logged]
            .map(([message, count]) => `\n    logged ${count}× ${message}`)
            .join(''),
      ),
    ];
    if (notices) {
      const noticed = notices.measured.filter(Number.isFinite);
      lines.push(
        `stalls noticed: ${notices.measured.length} measured, slowest after ` +
          `${noticed.length > 0 ? Math.max(...noticed) : 0} ms, ${notices.problems.length} too late`,
      );
    }
    return lines;
  }

  /** Kills every process of the run and removes its files; safe to call more than once. */
  async dispose(): Promise<void> {
    this.runner?.halt();
    await Promise.allSettled(this.clients.map((client) => client.dispose()));
    await this.server?.dispose().catch(() => {});
    await Promise.allSettled(this.proxies.map((proxy) => proxy.close()));
    if (this.directory && !process.env.CHAOS_KEEP_FILES)
      await rm(this.directory, { recursive: true, force: true });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { StateChange } from './liveness.js';
import type { ClientCommand, ClientConfig, ClientLine, ClientLineType } from './messages.js';
import { OutputTail } from './output.js';

const CLIENT_MAIN = fileURLToPath(new URL('./client-main.ts', import.meta.url));
// tsx and the client's dependencies resolve from the matrix package, wherever the test runs from.
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** A write a client reported resolved: it must reach the server exactly once. */
export interface ReportedWrite {
  client: string;
  incarnation: number;
  op: 'upsert' | 'delete';
  id: string;
  eventId: string;
  value?: string;
}

/** An exit of a client that neither a kill of ours nor a finished run explains. */
export interface ClientCrash {
  client: string;
  incarnation: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

type LineOf<T extends ClientLineType> = Extract<ClientLine, { type: T }>;

interface Waiter {
  type: ClientLineType;
  resolve: (line: ClientLine) => void;
  reject: (error: Error) => void;
}

/** One incarnation of a client process: its output and what the test waits on. */
class Incarnation {
  readonly output = new OutputTail();
  readonly lines: ClientLine[] = [];
  readonly consumed = new Map<ClientLineType, number>();
  readonly waiters = new Set<Waiter>();
  expectingExit = false;
  finished = false;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly closed: Promise<void>;

  constructor(
    readonly number: number,
    readonly child: ChildProcess,
  ) {
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
  }
}

/**
 * The test's handle on one chaos client (`client-main.ts`) across its restarts: it spawns the
 * process, collects what it reports, kills it, and turns an exit nobody asked for into a
 * recorded crash.
 */
export class ClientProcess {
  readonly writes: ReportedWrite[] = [];
  readonly writeFailures: string[] = [];
  readonly crashes: ClientCrash[] = [];
  readonly clientIds = new Set<string>();
  /** Every connection state of every incarnation, and each exit, as the test saw them. */
  readonly states: StateChange[] = [];
  connections = 0;
  kills = 0;
  /** What the client logged on stderr, by message (first line, without the incarnation). */
  readonly logged = new Map<string, number>();
  private current: Incarnation | undefined;
  private incarnations = 0;
  private disposed = false;
  /** Called when a client exits by itself while the run goes on. */
  onCrash: ((crash: ClientCrash) => void) | undefined;

  constructor(
    readonly config: Omit<ClientConfig, 'incarnation'>,
    private readonly startTimeoutMs: number,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get alive(): boolean {
    return this.current !== undefined && this.current.exited === undefined;
  }

  /** Starts a new incarnation on the same storage file and resolves once it is ready. */
  async start(): Promise<LineOf<'ready'>> {
    // A run torn down by a failed test must not be brought back by a restart still under way.
    if (this.disposed) throw new Error(`${this.name} was disposed`);
    const number = ++this.incarnations;
    const config: ClientConfig = { ...this.config, incarnation: number };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@local-first/source', CLIENT_MAIN, JSON.stringify(config)],
      { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const incarnation = new Incarnation(number, child);
    this.current = incarnation;
    // A command written to a process that just died must not take the test down with EPIPE.
    child.stdin!.on('error', () => {});
    child.stderr!.on('data', (chunk: Buffer) => incarnation.output.stderr(chunk));
    createInterface({ input: child.stderr! }).on('line', (text) => {
      const logged = /^\[[^\]]+\] (warn|error): (.*?)(?: \{.*)?$/.exec(text);
      if (!logged) return;
      const key = `${logged[1]}: ${logged[2]!.slice(0, 120)}`;
      this.logged.set(key, (this.logged.get(key) ?? 0) + 1);
    });
    createInterface({ input: child.stdout! }).on('line', (text) => this.onLine(incarnation, text));
    // `close` comes after the last line of stdout was read, so no report is lost to the exit.
    child.once('close', (code, signal) => this.onExit(incarnation, code, signal));
    const ready = await this.next('ready', this.startTimeoutMs, 'start');
    this.clientIds.add(ready.clientId);
    return ready;
  }

  private onLine(incarnation: Incarnation, text: string): void {
    incarnation.output.line(text);
    let line: ClientLine;
    try {
      line = JSON.parse(text) as ClientLine;
    } catch {
      return;
    }
    if (line.type === 'write') {
      this.writes.push({ client: this.name, incarnation: incarnation.number, ...line });
    } else if (line.type === 'write_failed') {
      this.writeFailures.push(
        `${this.name}#${incarnation.number} ${line.op} ${line.id}: ${line.error}`,
      );
    } else if (line.type === 'connection') {
      this.states.push({ at: Date.now(), incarnation: incarnation.number, state: line.state });
      if (line.state === 'connected') this.connections++;
    } else if (line.type === 'state') {
      incarnation.finished = true;
    }
    incarnation.lines.push(line);
    for (const waiter of incarnation.waiters) {
      if (waiter.type !== line.type) continue;
      incarnation.waiters.delete(waiter);
      incarnation.consumed.set(line.type, (incarnation.consumed.get(line.type) ?? 0) + 1);
      waiter.resolve(line);
      return;
    }
  }

  private onExit(
    incarnation: Incarnation,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    incarnation.exited = { code, signal };
    this.states.push({ at: Date.now(), incarnation: incarnation.number, state: 'exited' });
    const clean = incarnation.expectingExit || (incarnation.finished && code === 0);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!clean) {
      const crash: ClientCrash = {
        client: this.name,
        incarnation: incarnation.number,
        code,
        signal,
        output: incarnation.output.describe(),
      };
      this.crashes.push(crash);
      if (incarnation === this.current) this.onCrash?.(crash);
    }
    for (const waiter of incarnation.waiters) {
      waiter.reject(
        new Error(
          `${this.name}#${incarnation.number} exited (${how}) while the test waited for its ` +
            `"${waiter.type}" line\n${incarnation.output.describe()}`,
        ),
      );
    }
    incarnation.waiters.clear();
  }

  /**
   * The next line of `type` from the current incarnation that no earlier call took. Fails with
   * the client's output if the process exits first or nothing comes within `timeoutMs`.
   */
  next<T extends ClientLineType>(type: T, timeoutMs: number, purpose: string): Promise<LineOf<T>> {
    const incarnation = this.current;
    if (!incarnation) return Promise.reject(new Error(`${this.name} was never started`));
    const taken = incarnation.consumed.get(type) ?? 0;
    const already = incarnation.lines.filter((line) => line.type === type);
    if (already.length > taken) {
      incarnation.consumed.set(type, taken + 1);
      return Promise.resolve(already[taken] as LineOf<T>);
    }
    if (incarnation.exited) {
      return Promise.reject(
        new Error(
          `${this.name}#${incarnation.number} had already exited when the test asked for ` +
            `"${type}" (${purpose})\n${incarnation.output.describe()}`,
        ),
      );
    }
    return new Promise<LineOf<T>>((resolve, reject) => {
      const deadline = setTimeout(() => {
        incarnation.waiters.delete(waiter);
        reject(
          new Error(
            `${this.name}#${incarnation.number} printed no "${type}" line within ${timeoutMs} ms ` +
              `(${purpose}); it reported ${this.writes.length} writes so far\n` +
              incarnation.output.describe(),
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        type,
        resolve: (line) => {
          clearTimeout(deadline);
          resolve(line as LineOf<T>);
        },
        reject: (error) => {
          clearTimeout(deadline);
          reject(error);
        },
      };
      incarnation.waiters.add(waiter);
    });
  }

  send(command: ClientCommand): void {
    this.current?.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** SIGKILL, as a crash of the device would; resolves once the process is gone. */
  async kill(): Promise<void> {
    const incarnation = this.current;
    if (!incarnation || incarnation.exited) return;
    incarnation.expectingExit = true;
    this.kills++;
    incarnation.child.kill('SIGKILL');
    await incarnation.closed;
  }

  /**
   * Resolves once the current incarnation has exited by itself (after `finish`); after
   * `timeoutMs` it is killed and the answer says what it was doing.
   */
  async exited(timeoutMs: number): Promise<string | undefined> {
    const incarnation = this.current;
    if (!incarnation) return undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      incarnation.closed.then(() => false),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(deadline);
    if (!late) return undefined;
    const problem =
      `${this.name}#${incarnation.number} was told to finish but had not exited ` +
      `${timeoutMs} ms later\n${incarnation.output.describe()}`;
    await this.dispose();
    return problem;
  }

  describe(): string {
    const incarnation = this.current;
    return (
      `${this.name} (${this.config.transport}, incarnation ${incarnation?.number ?? 0}, ` +
      `${this.writes.length} writes reported, ${this.connections} connections):\n` +
      (incarnation?.output.describe() ?? '')
    );
  }

  /** Kills whatever is still running; for cleanup, not counted as a fault. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const incarnation = this.current;
    if (!incarnation || incarnation.exited) return;
    incarnation.expectingExit = true;
    incarnation.child.kill('SIGKILL');
    await incarnation.closed;
  }
}

import { type SyncEvent, uuidv7 } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import type fc from 'fast-check';
import type { Fault } from '../rest-double.js';
import { checkInvariants } from './invariants.js';
import type { Item, World, WorldConfig } from './world.js';

/** The model: what the commands need to know before they run. The rest is observed. */
export interface Model {
  readonly config: WorldConfig;
}

export type ModelCommand = fc.AsyncCommand<Model, World>;

/** Fake time every command lets pass after it acts, before the invariants are checked. */
export const STEP_MS = 20;
export const RECORD_IDS = ['r0', 'r1', 'r2', 'r3'] as const;
/** What `Retry-After` says on the injected 429 and 503 answers, in seconds. */
export const RETRY_AFTER_S = 2;

export type WriteKind = 'small' | 'large' | 'huge' | 'delete';

/**
 * Records of three sizes: a small one; a large one of about 3.3 KB in a request (five do not
 * fit the server's 16 KiB body, one fits the proxy's 5 000 bytes); a huge one of about 18 KB,
 * which no request to the server can carry (and which is over the strategy's own limit when
 * that is 12 000 bytes).
 */
export function item(id: string, kind: Exclude<WriteKind, 'delete'>, serial: number): Item {
  const title = `${kind} ${serial}`;
  if (kind === 'large') return { id, title, blob: 'é'.repeat(1_500) };
  if (kind === 'huge') return { id, title, blob: 'é'.repeat(9_000) };
  return { id, title };
}

abstract class Step implements ModelCommand {
  check(_model: Readonly<Model>): boolean {
    return true;
  }
  async run(_model: Model, world: World): Promise<void> {
    await this.act(world);
    await world.advance(STEP_MS);
    await checkInvariants(world, this.toString());
  }
  protected abstract act(world: World): Promise<void>;
  abstract toString(): string;
}

export class LocalWrite extends Step {
  constructor(
    readonly repository: string,
    readonly id: string,
    readonly kind: WriteKind,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    const repository = world.repository(this.repository);
    await world.write(
      this.repository,
      this.kind === 'delete'
        ? repository.delete(this.id)
        : repository.upsert(item(this.id, this.kind, world.next())),
    );
  }
  toString(): string {
    return `write(${this.repository}/${this.id} ${this.kind})`;
  }
}

/** More writes at once than a batch holds: inserts, then updates of some, then deletes. */
export class LocalBurst extends Step {
  constructor(
    readonly repository: string,
    readonly count: number,
    readonly kind: 'small' | 'large',
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    const repository = world.repository(this.repository);
    const writes: Promise<unknown>[] = [];
    for (let index = 0; index < this.count; index++) {
      const id = `b${index % Math.max(2, this.count - 3)}`;
      writes.push(
        index % 5 === 4
          ? world.write(this.repository, repository.delete(id))
          : world.write(this.repository, repository.upsert(item(id, this.kind, world.next()))),
      );
    }
    await world.settle(Promise.all(writes), 'a burst of writes');
  }
  toString(): string {
    return `burst(${this.repository} ${this.count}x ${this.kind})`;
  }
}

/** Another user's writer pushes straight into the engine (nothing, while the server is down). */
export class ForeignWrite extends Step {
  constructor(
    readonly repository: string,
    readonly id: string,
    readonly remove: boolean,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    if (!world.server.online) return;
    const now = Date.now();
    const event: SyncEvent = {
      eventId: uuidv7(now),
      operation: this.remove ? 2 : 1,
      createdAt: new Date(now).toISOString(),
      dataId: this.id,
      data: this.remove ? null : { id: this.id, title: `carol ${world.next()}` },
      hlc: formatHlc({ wall: now, counter: 0 }, 'carol'),
    };
    await world.settle(world.server.foreignPush(this.repository, event), 'a foreign push');
  }
  toString(): string {
    return `foreign(${this.repository}/${this.id} ${this.remove ? 'delete' : 'upsert'})`;
  }
}

/** The other device writes; its own strategy pushes the change when it can. */
export class OtherDeviceWrite extends Step {
  constructor(
    readonly repository: string,
    readonly id: string,
    readonly remove: boolean,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    const repository = world.other.repositories.get(this.repository)!;
    const write = this.remove
      ? repository.delete(this.id)
      : repository.upsert({ id: this.id, title: `bob ${world.next()}` });
    await world.settle(write, 'a write on the other device');
  }
  toString(): string {
    return `otherDevice(${this.repository}/${this.id} ${this.remove ? 'delete' : 'upsert'})`;
  }
}

export class Wait extends Step {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(world: World): Promise<void> {
    await world.advance(this.ms);
  }
  toString(): string {
    return `wait(${this.ms})`;
  }
}

/** The server goes down (`up` false: connections refused, for both devices) or comes back. */
export class Server extends Step {
  constructor(readonly up: boolean) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.server.online = this.up;
    world.traffic.disturbed(this.up ? 'server up' : 'server down');
  }
  toString(): string {
    return this.up ? 'serverUp' : 'serverDown';
  }
}

export type Injected =
  | 'lose_answer'
  | 'hang'
  | 'stall_body'
  | 'slow'
  | 'refuse'
  | '500'
  | '429'
  | '503'
  | '401';

function fault(kind: Injected): Fault {
  const retryAfter = { 'retry-after': String(RETRY_AFTER_S) };
  switch (kind) {
    case 'slow':
      return { kind: 'slow', ms: 3_000 };
    case '500':
      return {
        kind: 'answer',
        status: 500,
        body: { type: 'error', code: 'internal', message: 'injected', retryAfterMs: 2_000 },
        headers: retryAfter,
      };
    case '429':
      return {
        kind: 'answer',
        status: 429,
        body: { type: 'error', code: 'rate_limited', message: 'slow down' },
        headers: retryAfter,
      };
    case '503':
      return { kind: 'answer', status: 503, headers: retryAfter };
    case '401':
      return {
        kind: 'answer',
        status: 401,
        body: { type: 'error', code: 'unauthorized', message: 'the token expired' },
      };
    default:
      return { kind };
  }
}

/** The next `count` requests (of `method`, if given) meet a fault. */
export class Inject extends Step {
  constructor(
    readonly kind: Injected,
    readonly count: number,
    readonly method: 'GET' | 'POST' | undefined,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.server.rest.arm(fault(this.kind), this.count, this.method);
    world.traffic.disturbed(`inject ${this.kind}`);
  }
  toString(): string {
    return `inject(${this.kind} x${this.count}${this.method ? ` on ${this.method}` : ''})`;
  }
}

/** A proxy answers 413 to the next `count` pushes of more than one event. */
export class TooLarge extends Step {
  constructor(readonly count: number) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.server.tooLargeArmed += this.count;
    world.traffic.disturbed('413 armed');
  }
  toString(): string {
    return `proxy413(x${this.count})`;
  }
}

/** A proxy with a body limit of its own (`PROXY_MAX_BODY_BYTES`) is put in front, or taken away. */
export class ProxyLimit extends Step {
  constructor(readonly on: boolean) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.server.limitProxy(this.on);
    world.traffic.disturbed(`proxy limit ${this.on}`);
  }
  toString(): string {
    return `proxyLimit(${this.on ? 'on' : 'off'})`;
  }
}

/** The client's user loses (or regains) write access to a repository: pushes get 403. */
export class ForbidWrites extends Step {
  constructor(
    readonly repository: string,
    readonly on: boolean,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.server.forbid(this.repository, this.on);
    world.traffic.disturbed(`forbid ${this.repository} ${this.on}`);
  }
  toString(): string {
    return `${this.on ? 'forbid' : 'allow'}Writes(${this.repository})`;
  }
}

export class Stop extends Step {
  protected async act(world: World): Promise<void> {
    await world.settle(world.stop(), 'stop()');
  }
  toString(): string {
    return 'stop';
  }
}

export class Start extends Step {
  protected async act(world: World): Promise<void> {
    await world.settle(world.start(), 'start()');
  }
  toString(): string {
    return 'start';
  }
}

/** stop(), some time, start(): a round under way is aborted, and the next starts afresh. */
export class Restart extends Step {
  constructor(readonly gapMs: number) {
    super();
  }
  protected async act(world: World): Promise<void> {
    await world.settle(world.stop(), 'stop()');
    await world.advance(this.gapMs);
    await world.settle(world.start(), 'start()');
  }
  toString(): string {
    return `restart(gap ${this.gapMs}ms)`;
  }
}

export class SyncNow extends Step {
  protected async act(world: World): Promise<void> {
    world.syncNow();
  }
  toString(): string {
    return 'syncNow';
  }
}

/** The app hands the strategy a new token (what resumes it after a 401). */
export class RenewToken extends Step {
  protected async act(world: World): Promise<void> {
    world.renewToken();
  }
  toString(): string {
    return 'renewToken';
  }
}

/**
 * The server comes back from a backup holding the oldest `fraction` of each log: a new store,
 * so a new epoch, at the same address.
 */
export class RestoreBackup extends Step {
  constructor(readonly fraction: number) {
    super();
  }
  override check(model: Readonly<Model>): boolean {
    return model.config.backups;
  }
  protected async act(world: World): Promise<void> {
    world.generation += 1;
    await world.settle(world.server.restore(this.fraction), 'a restore');
    world.traffic.disturbed('restored');
  }
  toString(): string {
    return `restoreBackup(${Math.round(this.fraction * 100)}% kept)`;
  }
}

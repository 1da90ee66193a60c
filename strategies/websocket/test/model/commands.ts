import { isLocalFirstError, type SyncEvent, uuidv7 } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import type fc from 'fast-check';
import { checkInvariants } from './invariants.js';
import type { Direction } from './link.js';
import type { InjectableRequest, InjectedCode } from './server.js';
import type { Item, World, WorldConfig } from './world.js';

/** The model: what the commands need to know before they run. The rest is observed. */
export interface Model {
  readonly config: WorldConfig;
}

export type ModelCommand = fc.AsyncCommand<Model, World>;

/** Fake time every command lets pass after it acts, before the invariants are checked. */
export const STEP_MS = 20;
export const RECORD_IDS = ['r0', 'r1', 'r2', 'r3'] as const;
const YEAR_MS = 365 * 86_400_000;

export type WriteKind = 'small' | 'large' | 'huge' | 'delete';

/** A large record: 14 KB of UTF-8 in 7 000 characters, so five overflow a 64 KiB frame. */
function item(id: string, kind: WriteKind, serial: number): Item {
  const title = `${kind} ${serial}`;
  if (kind === 'large') return { id, title, blob: 'é'.repeat(7_000) };
  // 80 KB: no frame can carry it, though it is under the limit counted in characters.
  if (kind === 'huge') return { id, title, blob: 'é'.repeat(40_000) };
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
    const write =
      this.kind === 'delete'
        ? repository.delete(this.id)
        : repository.upsert(item(this.id, this.kind, world.next()));
    try {
      await world.settle(write);
    } catch (error) {
      // A write no frame can carry may be refused at once, with a coded error (revision 1.1).
      if (this.kind !== 'huge' || !isLocalFirstError(error)) throw error;
      world.refusedLocally.push(error.code);
    }
  }
  toString(): string {
    return `write(${this.repository}/${this.id} ${this.kind})`;
  }
}

/** Several large records at once: they leave together, more bytes than a frame holds. */
export class LargeBurst extends Step {
  constructor(
    readonly repository: string,
    readonly count: number,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    const repository = world.repository(this.repository);
    const writes = Array.from({ length: this.count }, (_, index) =>
      repository.upsert(item(`big${index}`, 'large', world.next())),
    );
    await world.settle(Promise.all(writes));
  }
  toString(): string {
    return `largeBurst(${this.repository} x${this.count})`;
  }
}

export type Stamp = 'good' | 'tilde' | 'future';

/** Another writer pushes straight to the engine: a broadcast now, catch-up pages later. */
export class ForeignWrite extends Step {
  constructor(
    readonly repository: string,
    readonly id: string,
    readonly stamp: Stamp,
    readonly remove: boolean,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    const now = Date.now();
    const hlc =
      this.stamp === 'tilde'
        ? '~'
        : formatHlc(
            { wall: this.stamp === 'future' ? now + 3 * YEAR_MS : now, counter: 0 },
            'carol',
          );
    const event: SyncEvent = {
      eventId: uuidv7(now),
      operation: this.remove ? 2 : 1,
      createdAt: new Date(now).toISOString(),
      dataId: this.id,
      data: this.remove ? null : { id: this.id, title: `carol ${world.next()}` },
      hlc,
    };
    if (this.stamp !== 'good') world.badStamps.set(event.eventId, `hlc ${this.stamp}`);
    await world.settle(world.server.foreignPush(this.repository, [event]));
  }
  toString(): string {
    return `foreign(${this.repository}/${this.id} ${this.remove ? 'delete' : 'upsert'} ${this.stamp})`;
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

export class Stop extends Step {
  protected async act(world: World): Promise<void> {
    await world.settle(world.stop());
  }
  toString(): string {
    return 'stop';
  }
}

export class Start extends Step {
  protected async act(world: World): Promise<void> {
    await world.settle(world.start());
  }
  toString(): string {
    return 'start';
  }
}

/** When, on a fresh connection, a lifecycle call lands: microtasks after a message arrives. */
export interface Moment {
  after: 'start' | 'auth_success' | 'sync_complete';
  microtasks: number;
}

/**
 * Stop and start the client, then stop it again (`restart`) or switch its namespace (`switch`)
 * at a moment of the new connection's setup, e.g. right after auth_success, before the
 * catch-up is asked for.
 */
export class Lifecycle extends Step {
  constructor(
    readonly action: 'restart' | 'switch',
    readonly moment: Moment,
    readonly gapMs: number,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    if (world.running) await world.settle(world.stop());
    let done: Promise<void> | undefined;
    const go = () => {
      done = this.action === 'switch' ? world.switchNamespace() : world.stop();
    };
    if (this.moment.after !== 'start')
      world.armTrigger(this.moment.after, this.moment.microtasks, go);
    const started = world.start();
    if (this.moment.after === 'start') {
      for (let left = this.moment.microtasks; left > 0; left--) await Promise.resolve();
      go();
    }
    await world.settle(started);
    for (let waited = 0; !done && waited < 5_000; waited += 10) await world.advance(10);
    if (!done) {
      // The moment never came (that message never arrived): act now instead.
      world.disarmTrigger();
      go();
    }
    await world.settle(done ?? Promise.resolve());
    if (this.action === 'restart') {
      await world.advance(this.gapMs);
      await world.settle(world.start());
    }
  }
  toString(): string {
    return `${this.action}(${this.moment.after}+${this.moment.microtasks}µ${this.action === 'restart' ? `, start after ${this.gapMs}ms` : ''})`;
  }
}

export class SwitchNamespace extends Step {
  protected async act(world: World): Promise<void> {
    await world.settle(world.switchNamespace());
  }
  toString(): string {
    return 'useNamespace(other)';
  }
}

/** The current link goes half-open: frames vanish in these directions, nobody is told. */
export class Cut extends Step {
  constructor(readonly directions: Direction[]) {
    super();
  }
  protected async act(world: World): Promise<void> {
    const link = world.network.current();
    if (!link) return;
    world.log.cuts.push({
      at: Date.now(),
      link: link.id,
      directions: this.directions,
      whileConnected: world.strategy.connectionState === 'connected',
    });
    world.log.disturbed(`cut #${link.id}`);
    link.cut(this.directions);
  }
  toString(): string {
    return `cut(${this.directions.join('+')})`;
  }
}

/** The current link is reset: both ends hear 1006. */
export class Drop extends Step {
  protected async act(world: World): Promise<void> {
    const link = world.network.current();
    if (!link) return;
    world.log.disturbed(`drop #${link.id}`);
    link.reset();
  }
  toString(): string {
    return 'drop';
  }
}

export class InjectError extends Step {
  constructor(
    readonly requestType: InjectableRequest,
    readonly code: InjectedCode,
    readonly count: number,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.server.faults.arm(this.requestType, this.code, this.count);
  }
  toString(): string {
    return `inject(${this.requestType} → ${this.code} x${this.count})`;
  }
}

/** `engine.close()`, some time down, a new engine over the same store or an older copy. */
export class RestartServer extends Step {
  constructor(
    readonly downMs: number,
    readonly keepFraction: number | undefined,
  ) {
    super();
  }
  override check(model: Readonly<Model>): boolean {
    return this.keepFraction === undefined || model.config.backups;
  }
  protected async act(world: World): Promise<void> {
    world.log.disturbed('server stopping');
    await world.settle(world.server.stop());
    if (this.keepFraction !== undefined)
      await world.settle(world.server.restoreOlderCopy(this.keepFraction));
    await world.advance(this.downMs);
    await world.settle(world.server.start());
    world.log.disturbed('server up');
  }
  toString(): string {
    return `restartServer(down ${this.downMs}ms${this.keepFraction === undefined ? '' : `, from a copy with ${Math.round(this.keepFraction * 100)}% of the events`})`;
  }
}

/** The client's user loses (or regains) write access: its pushes come back rejected. */
export class ForbidWrites extends Step {
  constructor(
    readonly repository: string,
    readonly on: boolean,
  ) {
    super();
  }
  protected async act(world: World): Promise<void> {
    if (this.on) world.server.forbiddenWrites.add(this.repository);
    else world.server.forbiddenWrites.delete(this.repository);
  }
  toString(): string {
    return `${this.on ? 'forbid' : 'allow'}Writes(${this.repository})`;
  }
}

export class SlowDisk extends Step {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.setDiskDelay(this.ms);
  }
  toString(): string {
    return `slowDisk(${this.ms}ms per transaction)`;
  }
}

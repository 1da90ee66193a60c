import type { Fanout, FanoutAnnouncement, FanoutMissCause } from '@local-first/core/adapter';
import { expect } from 'vitest';

/** What `setup` returns: a channel of its own that any number of nodes can join. */
export interface FanoutFixture {
  /**
   * One more node on this fixture's channel, not opened yet: the suite opens it, and closes it
   * before `teardown`. Nodes of other fixtures never hear it.
   */
  node(): Promise<Fanout>;
  /**
   * Given by fan-outs whose listening side can drop (those with `onMissed`): cuts that side of
   * an opened node from outside, as a failing network or database would; the node must notice,
   * listen again by itself and report `onMissed('reconnect')`.
   */
  interrupt?(fanout: Fanout): Promise<void>;
  /** Removes what setup made; the suite has closed every node by then. */
  teardown(): Promise<void>;
}

/** Builds one isolated fixture; the suite calls it before every test. */
export type FanoutSetup = () => Promise<FanoutFixture>;

/** What the test groups use while a test runs. */
export interface FanoutSuiteContext {
  /** A new node on the running test's channel, opened; closed by the suite after the test. */
  node(): Promise<Fanout>;
  /** A new node on the running test's channel, not opened; closed by the suite after the test. */
  unopened(): Promise<Fanout>;
  /** True when the fixture can cut a node's listening side. */
  readonly canInterrupt: boolean;
  interrupt(fanout: Fanout): Promise<void>;
}

/** How long a wait for an announcement lasts before it fails, saying what did arrive. */
export const HEAR_TIMEOUT_MS = 5_000;

/** Everything one node heard, with waits that fail after a while naming what arrived. */
export class Ear {
  readonly heard: FanoutAnnouncement[] = [];
  readonly missed: FanoutMissCause[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly fanout: Fanout) {
    fanout.onAnnouncement((announcement) => {
      this.heard.push(announcement);
      this.wake();
    });
    fanout.onMissed?.((cause) => {
      this.missed.push(cause);
      this.wake();
    });
  }

  /** Resolves once `done()` holds; checked after each announcement or miss that arrives. */
  until(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const heard = this.heard.slice(-10).map((entry) => JSON.stringify(entry));
        reject(
          new Error(
            `node ${this.fanout.node} did not hear ${what} within ${HEAR_TIMEOUT_MS} ms; it heard ${heard.join(', ') || 'nothing'}${this.missed.length > 0 ? ` and missed (${this.missed.join(', ')})` : ''}`,
          ),
        );
      }, HEAR_TIMEOUT_MS);
      this.waiters.add(check);
    });
  }

  /** Resolves once an announcement of `repository` at `lastSequence` has arrived. */
  hears(repository: string, lastSequence: number): Promise<void> {
    return this.until(
      () => this.heard.some((a) => a.repository === repository && a.lastSequence === lastSequence),
      `${JSON.stringify(repository).slice(0, 80)} at ${lastSequence}`,
    );
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Asserts that `work` fails with a `LocalFirstError` of the given code. */
export async function expectCode(work: () => Promise<unknown>, code: string): Promise<void> {
  await expect((async () => work())()).rejects.toMatchObject({ name: 'LocalFirstError', code });
}

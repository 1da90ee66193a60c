import type { LocalForageLike } from '../src/index.js';
import { WRITER_KEY } from '../src/keys.js';

/** How a `FaultyStore` misbehaves, counted over its `setItem` calls from 1. */
export interface Faults {
  /** This `setItem` call throws. */
  failSetAt?: number;
  /** Every later `setItem` and `removeItem` throws too: the disk is gone. */
  sticky?: boolean;
  /** This `setItem` call never settles: the process died while it ran. */
  hangSetAt?: number;
  /** This `removeItem` call throws. */
  failRemoveAt?: number;
}

/** Wraps a localforage instance, counting calls and failing the ones `faults` name. */
export class FaultyStore implements LocalForageLike {
  setCalls = 0;
  removeCalls = 0;
  readonly reads: string[] = [];
  private dead = false;

  constructor(
    private readonly inner: LocalForageLike,
    private readonly faults: Faults = {},
  ) {}

  ready(): Promise<void> {
    return this.inner.ready?.() ?? Promise.resolve();
  }

  getItem<T>(key: string): Promise<T | null> {
    this.reads.push(key);
    return this.inner.getItem<T>(key);
  }

  async setItem<T>(key: string, value: T): Promise<T> {
    // The writer's mark at open() is no part of a commit: the counts are the commits' own.
    if (key === WRITER_KEY) return this.inner.setItem(key, value);
    this.setCalls++;
    if (this.setCalls === this.faults.hangSetAt) return new Promise<T>(() => {});
    if (this.dead || this.setCalls === this.faults.failSetAt) {
      if (this.faults.sticky) this.dead = true;
      throw new Error(`injected failure of setItem #${this.setCalls} (${key})`);
    }
    return this.inner.setItem(key, value);
  }

  async removeItem(key: string): Promise<void> {
    this.removeCalls++;
    if (this.dead || this.removeCalls === this.faults.failRemoveAt) {
      throw new Error(`injected failure of removeItem #${this.removeCalls} (${key})`);
    }
    return this.inner.removeItem(key);
  }
}

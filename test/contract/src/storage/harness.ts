import type { StorageAdapter } from '@local-first/core';

/** What an adapter author hands the storage suite for each test. */
export interface StorageSetup {
  /**
   * A new adapter over an empty backing store that no other test shares. Return it unopened:
   * the suite calls `open()` itself, so it can also check what happens before `open()`.
   */
  adapter: StorageAdapter;
  /**
   * Releases what `setup` created (files, databases, temp folders). The suite has closed every
   * adapter it opened before it calls this. Leave it out when there is nothing to release.
   */
  teardown?(): Promise<void>;
  /**
   * A new, unopened adapter over the same backing store as `adapter`, as after a restart. The
   * suite calls it after closing the previous adapter. Required when
   * `adapter.capabilities.persistent` is true.
   */
  reopen?(): Promise<StorageAdapter>;
}

/**
 * Owns the adapter of the running test: creates it before each test, opens, closes and reopens
 * it on request, and cleans up after. Test files reach the adapter only through it, so a
 * reopened adapter replaces the old one everywhere.
 */
export class StorageHarness {
  private setup: StorageSetup | undefined;
  private current: StorageAdapter | undefined;
  private isOpen = false;

  constructor(
    readonly suiteName: string,
    private readonly factory: () => Promise<StorageSetup>,
  ) {}

  /** The adapter of the running test. */
  get adapter(): StorageAdapter {
    if (!this.current) throw new Error('the storage suite has no adapter outside a test');
    return this.current;
  }

  async create(): Promise<void> {
    this.setup = await this.factory();
    this.current = this.setup.adapter;
    this.isOpen = false;
  }

  async open(): Promise<StorageAdapter> {
    const adapter = this.adapter;
    await adapter.open();
    this.isOpen = true;
    return adapter;
  }

  /** Closes the adapter and remembers it, so the suite does not close it a second time. */
  async close(): Promise<void> {
    this.isOpen = false;
    await this.adapter.close();
  }

  /** Fails the running test when a persistent adapter came without `reopen`. */
  requireReopen(): () => Promise<StorageAdapter> {
    const setup = this.setup;
    if (!setup?.reopen) {
      throw new Error(
        `${this.suiteName}: adapter.capabilities.persistent is true, so the setup function must ` +
          'return reopen() (a new adapter over the same backing store)',
      );
    }
    return () => setup.reopen!();
  }

  /** Closes the current adapter and opens a new one over the same backing store. */
  async reopen(): Promise<StorageAdapter> {
    const reopen = this.requireReopen();
    if (this.isOpen) await this.close();
    this.current = await reopen();
    return this.open();
  }

  async destroy(): Promise<void> {
    const setup = this.setup;
    try {
      if (this.isOpen) await this.close();
    } finally {
      this.setup = undefined;
      this.current = undefined;
      await setup?.teardown?.();
    }
  }
}

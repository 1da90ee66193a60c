import { startAll, stopAll } from './strategies.js';
import type { SyncCredentials, SyncStrategy } from './sync-strategy.js';

/** Options of `LocalFirstClient.useNamespace`. */
export interface NamespaceOptions {
  /**
   * The credentials of the account this namespace belongs to, handed to every strategy that
   * takes them (`SyncStrategy.setCredentials`) before it connects in the namespace: a
   * strategy never sends one namespace's changes with another namespace's credentials.
   */
  credentials?: SyncCredentials;
}

/** What a switch does to its client. */
export interface SwitchSteps {
  readonly strategies: readonly SyncStrategy[];
  /** The namespace the storage is in now. */
  inUse(): string;
  /** Moves the storage and the client's identity to `namespace`. */
  enter(namespace: string): Promise<void>;
  /** After a move: watchers re-run, pending listeners hear of it. */
  entered(): void;
  /** True while the app wants sync on (from `start()` until `stop()`). */
  running(): boolean;
}

/**
 * The namespace switches of one client, run one after another in the order asked. Strategies
 * stop the moment a switch is asked for, so nothing of the namespace being left goes out once
 * the app has asked for another, and they start again only in the last namespace asked for.
 */
export class NamespaceSwitches {
  private target: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Switches asked for and not yet done. */
  private queued = 0;

  constructor(private readonly steps: SwitchSteps) {}

  /** The namespace the last switch asked for, else the one in use. */
  get namespace(): string {
    return this.target ?? this.steps.inUse();
  }

  /** Settles once no switch is left, those asked for while waiting included. */
  async settled(): Promise<void> {
    while (this.queued > 0) await this.chain;
  }

  /** Queues a switch; resolves once it is done (or fails with the step that failed). */
  request(namespace: string, options: NamespaceOptions): Promise<void> {
    const moving = namespace !== this.namespace;
    this.target = namespace;
    if (moving) void stopAll(this.steps.strategies);
    const run = () => this.run(namespace, options);
    // With none under way the storage's switch is queued at once, ahead of any call after this.
    const switched = this.queued === 0 ? run() : this.chain.then(run);
    this.queued += 1;
    this.chain = switched
      .catch(() => undefined)
      .then(() => {
        this.queued -= 1;
      });
    return switched;
  }

  private async run(namespace: string, options: NamespaceOptions): Promise<void> {
    const { steps } = this;
    const moving = namespace !== steps.inUse();
    if (moving) {
      const stopped = stopAll(steps.strategies);
      await steps.enter(namespace);
      await stopped;
    }
    const { credentials } = options;
    if (credentials)
      for (const strategy of steps.strategies) strategy.setCredentials?.(namespace, credentials);
    if (!moving) return;
    steps.entered();
    if (steps.running() && this.target === namespace) await startAll(steps.strategies);
  }
}

import { type AuthFailure, CredentialBook, type CredentialsTarget } from './credential-book.js';
import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { Emitter, StateSignal, type Subscribable } from './signal.js';
import { listedRepositories } from './strategies.js';
import type {
  ConnectionState,
  SyncActivity,
  SyncCredentials,
  SyncHost,
  SyncStrategy,
} from './sync-strategy.js';
import { waitUntilSynced } from './when-synced.js';

/** The options every strategy built on `SyncStrategyBase` takes. */
export interface SyncStrategyBaseOptions {
  /** Repositories this strategy syncs. Default: every one no other strategy lists. */
  repositoryNames?: readonly string[] | undefined;
  /** The same as `repositoryNames`; give one of the two. */
  repositories?: readonly string[] | undefined;
  /** The token the strategy authenticates with. */
  authToken?: string | undefined;
  /** Extra headers, sent where the transport allows. */
  headers?: Record<string, string> | undefined;
  /** The namespace `authToken` and `headers` belong to (default: the first one started in). */
  namespace?: string | undefined;
  /** Return new credentials to go on with them; nothing to stop in `failed`. */
  onAuthFailed?:
    | ((failure: AuthFailure) => SyncCredentials | undefined | Promise<SyncCredentials | undefined>)
    | undefined;
  /** Where the strategy logs. Default: nowhere. */
  logger?: Logger | undefined;
}

/**
 * What every strategy has, whatever its wire: connection state and its signals, activity,
 * the repositories it was given, credentials per namespace with the `update…` methods, and
 * `whenSynced`. A strategy extends it and writes `start`, `stop`, `dispose`, `onPushToRemote`,
 * how new credentials take effect (`credentialsChanged`) and when it is caught up (`caughtUp`).
 */
export abstract class SyncStrategyBase implements SyncStrategy {
  /** A name unique among the client's strategies, for connection state and logs. */
  abstract readonly name: string;
  /** The repositories this strategy was given; `undefined`: the ones no other strategy lists. */
  readonly repositoryNames: readonly string[] | undefined;
  /** The connection state; set it as the wire comes and goes, `connected` follows. */
  protected readonly state = new StateSignal<ConnectionState>('stopped');
  /** Whether `state` is `connected`. */
  protected readonly connected = new StateSignal<boolean>(false);
  /** Emit sync milestones and server answers here; listeners read them in `activityChanges`. */
  protected readonly activity = new Emitter<SyncActivity>();
  /** The credentials of each namespace. */
  protected readonly credentials: CredentialBook;
  /** The option of the same name: asked for new credentials when a server refuses them. */
  protected readonly onAuthFailed: SyncStrategyBaseOptions['onAuthFailed'];
  /** Where the strategy logs. */
  protected readonly logger: Logger;
  /** The client this strategy is attached to, once `attach` ran. */
  protected host: SyncHost | undefined;

  constructor(options: SyncStrategyBaseOptions) {
    this.repositoryNames = listedRepositories(options);
    this.credentials = new CredentialBook(
      { authToken: options.authToken, headers: options.headers },
      options.namespace,
    );
    this.onAuthFailed = options.onAuthFailed;
    this.logger = options.logger ?? silentLogger;
    this.state.subscribe((state) => this.connected.set(state === 'connected'));
  }

  /** Begins syncing; resolves once started (not necessarily connected). */
  abstract start(): Promise<void>;
  /** Stops syncing and closes connections; pending events stay pending. */
  abstract stop(): Promise<void>;
  /** Stops and releases everything; the strategy cannot start again. */
  abstract dispose(): Promise<void>;
  /** A local change that needs sync was committed in `namespace`; push it when possible. */
  abstract onPushToRemote(
    event: Parameters<SyncStrategy['onPushToRemote']>[0],
    namespace?: string,
  ): void | Promise<void>;
  /** New credentials were stored for `namespace`: use them where they apply. */
  protected abstract credentialsChanged(namespace: string): void;
  /** True now when connected and caught up on every repository this strategy syncs. */
  protected abstract caughtUp(host: SyncHost): boolean;

  get connectionState(): ConnectionState {
    return this.state.value;
  }
  get stateChanges(): Subscribable<ConnectionState> {
    return this.state;
  }
  get connectionChanges(): Subscribable<boolean> {
    return this.connected;
  }
  /** Sync milestones and server answers worth knowing about (acks, verdicts, catch-ups done). */
  get activityChanges(): Subscribable<SyncActivity> {
    return this.activity;
  }

  attach(host: SyncHost): void {
    this.host = host;
  }

  handlesRepository(name: string): boolean {
    return this.repositoryNames === undefined || this.repositoryNames.includes(name);
  }

  /** Replaces the token of a namespace (default: the client's); see `updateCredentials`. */
  updateAuthToken(authToken: string, target: CredentialsTarget = {}): void {
    const current = this.credentials.get(this.namespaceOf(target));
    this.updateCredentials({ ...current, authToken }, target);
  }

  /** Replaces the headers of a namespace (default: the client's); see `updateCredentials`. */
  updateHeaders(headers: Record<string, string>, target: CredentialsTarget = {}): void {
    const current = this.credentials.get(this.namespaceOf(target));
    this.updateCredentials({ ...current, headers }, target);
  }

  /**
   * Replaces token and headers of one namespace: `target.namespace`, else the client's (the
   * one it is switching to, during a switch). To sign in another account, give its namespace
   * (or use `client.useNamespace(ns, { credentials })`): credentials given without one replace
   * the current account's.
   */
  updateCredentials(credentials: SyncCredentials, target: CredentialsTarget = {}): void {
    const namespace = this.namespaceOf(target);
    this.credentials.set(namespace, credentials);
    if (namespace !== undefined) this.credentialsChanged(namespace);
  }

  /** `SyncStrategy.setCredentials`: the credentials `client.useNamespace` was given. */
  setCredentials(namespace: string, credentials: SyncCredentials): void {
    this.updateCredentials(credentials, { namespace });
  }

  /**
   * Resolves `true` once this strategy is caught up on every repository it syncs and no
   * pending change of them is left; `false` if that has not happened within `timeoutMs`.
   */
  whenSynced(timeoutMs: number): Promise<boolean> {
    const host = this.host;
    if (!host)
      return Promise.reject(
        new LocalFirstError(
          ERROR_CODES.notInitialized,
          'attach the strategy to a LocalFirstClient first',
        ),
      );
    return waitUntilSynced(
      {
        host,
        changes: [this.activity, this.state],
        handlesRepository: (name) => this.handlesRepository(name),
        caughtUp: () => this.caughtUp(host),
      },
      timeoutMs,
    );
  }

  /**
   * True when the client gave this strategy the repository: it handles it, and the client's
   * routing did not give it to another strategy. What a remote sends about any other
   * repository (a server broadcasts every repository the account may read) is not ours.
   */
  protected syncs(name: string): boolean {
    if (!this.handlesRepository(name)) return false;
    return this.host === undefined || this.host.repositoryNames().includes(name);
  }

  /** The client's repositories this strategy syncs. */
  protected syncedRepositories(host: SyncHost): string[] {
    return host.repositoryNames().filter((name) => this.handlesRepository(name));
  }

  /** The namespace credentials go to: the target's, else the client's. */
  protected namespaceOf(target: CredentialsTarget): string | undefined {
    return target.namespace ?? this.host?.namespace;
  }

  /** Throws unless the strategy may start: not disposed, and attached to a client. */
  protected assertStartable(disposed: boolean): SyncHost {
    if (disposed) throw new LocalFirstError(ERROR_CODES.closed, 'this strategy was disposed');
    if (!this.host)
      throw new LocalFirstError(
        ERROR_CODES.notInitialized,
        'attach the strategy to a LocalFirstClient before starting it',
      );
    return this.host;
  }
}

import type { SyncCredentials } from './sync-strategy.js';

function copy(credentials: SyncCredentials): SyncCredentials {
  return {
    authToken: credentials.authToken,
    headers: credentials.headers ? { ...credentials.headers } : undefined,
  };
}

/**
 * The credentials of each namespace the strategy may sync. Those of the options belong to one
 * namespace: the `namespace` option, else the one the strategy is first started in. Any other
 * namespace has only what was given for it, so a namespace without credentials of its own
 * never borrows another's.
 */
export class CredentialBook {
  private readonly byNamespace = new Map<string, SyncCredentials>();
  /** The options' credentials while no namespace has claimed them. */
  private unclaimed: SyncCredentials | undefined;

  constructor(
    fromOptions: SyncCredentials,
    private readonly home: string | undefined,
  ) {
    if (home === undefined) this.unclaimed = copy(fromOptions);
    else this.byNamespace.set(home, copy(fromOptions));
  }

  /** The options' credentials go to `namespace`, unless they went to one already. */
  claim(namespace: string): void {
    if (!this.unclaimed) return;
    if (!this.byNamespace.has(namespace)) this.byNamespace.set(namespace, this.unclaimed);
    this.unclaimed = undefined;
  }

  /** The credentials of `namespace`; `undefined`: the options' while none claimed them. */
  get(namespace: string | undefined): SyncCredentials | undefined {
    const found =
      namespace === undefined
        ? (this.unclaimed ?? this.homeCredentials())
        : this.byNamespace.get(namespace);
    return found && copy(found);
  }

  /** Sets the credentials of `namespace`; `undefined`: of the namespace the options' go to. */
  set(namespace: string | undefined, credentials: SyncCredentials): void {
    const target = namespace ?? (this.unclaimed ? undefined : this.home);
    if (target === undefined) this.unclaimed = copy(credentials);
    else this.byNamespace.set(target, copy(credentials));
  }

  private homeCredentials(): SyncCredentials | undefined {
    return this.home === undefined ? undefined : this.byNamespace.get(this.home);
  }
}

/** Which namespace a strategy's `updateCredentials` and its kin set credentials for. */
export interface CredentialsTarget {
  /** Default: the client's namespace, or the one it is switching to. */
  namespace?: string;
}

/** Why a server refused a strategy's credentials. */
export interface AuthFailure {
  /**
   * The server's code (`invalid_token`, `token_expired`…), or `expired` when a session ran
   * out without one.
   */
  code: string;
  /** A human-readable reason, for logs. */
  message: string;
  /** The namespace whose credentials were refused; new ones returned are its own. */
  namespace: string;
}

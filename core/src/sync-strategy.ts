import type { ResetReason } from './cursor.js';
import type { StoredEvent } from './model.js';
import type { Subscribable } from './signal.js';

/** Where a strategy's link to its remote stands. */
export type ConnectionState =
  /** Not started, or stopped. */
  | 'stopped'
  /** Opening the first connection. */
  | 'connecting'
  /** Connected and authenticated: changes flow both ways. */
  | 'connected'
  /** Lost the connection; waiting to retry. */
  | 'reconnecting'
  /** Gave up: credentials were refused and no new ones came. */
  | 'failed';

/** What `applyRemoteEvents` did with a batch. */
export interface ApplyResult {
  /** Events stored now. */
  applied: string[];
  /** Events already in the log; nothing changed. */
  skipped: string[];
  /** Events that were malformed; reported and left out, the rest of the batch went on. */
  invalid: {
    /** The event's id, when it had a usable one. */
    eventId: string | undefined;
    /** What was wrong with it. */
    message: string;
  }[];
}

/** A position in a remote's stream, stored with the events that reached it. */
export interface RemoteCursor {
  /** Meta key of the cursor; strategies namespace it (`ws:<url>:<repository>`). */
  key: string;
  /** The position, in the strategy's own format. */
  value: string;
}

/** A final verdict on a local event, as a strategy hands it to the client. */
export interface Verdict {
  /** The local event the verdict is on. */
  eventId: string;
  /** `invalid_event` or `forbidden` from a server; `event_too_large` from a strategy. */
  code: string;
  /** A human-readable reason. */
  message: string;
  /** Who gave the verdict. */
  source: 'server' | 'client';
}

/**
 * A verdict as the app hears of it: the server refused the event (`ack.rejected`), or a
 * strategy found that it can never be pushed. By then the client has marked the event failed
 * and put its record back to the last state the server accepted.
 */
export interface Rejection extends Verdict {
  /** The repository of the refused event. */
  repository: string;
  /** Id of the record the refused event changed. */
  dataId: string;
}

/** What a strategy presents to its remote for one namespace (one signed-in account). */
export interface SyncCredentials {
  /** A bearer token. */
  authToken?: string | undefined;
  /** Extra headers, sent where the transport allows. */
  headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * A remote took away read access to a repository, and the client dropped its local copy in
 * one namespace: records, events and the strategy's cursor. Pending local changes of it went
 * with them; each was also reported on `rejections`.
 */
export interface AccessRevocation {
  /** The repository whose local copy was dropped. */
  repository: string;
  /** The strategy whose remote revoked access. */
  strategy: string;
  /** The namespace whose copy was dropped. */
  namespace: string;
  /** The pending local changes that were dropped, as `rejections` reported them. */
  rejected: readonly Rejection[];
}

/** What `SyncHost.revokeRepository` removes besides the repository's records and events. */
export interface RevocationScope {
  /** The strategy that was told; named in the `AccessRevocation`. */
  strategy: string;
  /** Meta keys to remove in the same transaction: the strategy's cursors of the repository. */
  metaKeys?: readonly string[];
}

/**
 * What the client offers the strategies attached to it: the entry points a strategy needs to
 * move events between local storage and its remote.
 */
export interface SyncHost {
  /** The stable id of this client (kept in storage, per namespace). */
  readonly clientId: string;
  /**
   * The namespace of this host: for a host from `inNamespace`, the one it is held to; else the
   * namespace the client is in, or is switching to (the last one `useNamespace` asked for).
   */
  readonly namespace: string;
  /**
   * The same entry points, held to one namespace: while the client's storage is in another,
   * reads fail with `namespace_changed` and writes change nothing. A strategy gives each
   * connection the host of the namespace whose credentials it authenticated with, so nothing
   * of one account is read for, or stored from, another account's connection.
   */
  inNamespace(namespace: string): SyncHost;
  /** Names of the client's repositories. */
  repositoryNames(): string[];
  /** Pending events, oldest first, for one repository or all. */
  getPendingEvents(repository?: string): Promise<StoredEvent[]>;
  /**
   * Applies events received from a remote: idempotent by eventId; the events, the record
   * changes and the cursor are stored in one transaction; a malformed event is reported and
   * skipped without blocking the rest.
   */
  applyRemoteEvents(
    repository: string,
    events: readonly unknown[],
    cursor?: RemoteCursor,
  ): Promise<ApplyResult>;
  /**
   * Marks events as acknowledged by a remote; with a `cursor`, stores it in the same
   * transaction (a strategy records how far it knows the remote's log reaches). The remote
   * holds them, so an event a verdict failed meanwhile (on an earlier push of it) counts
   * again and its record is folded anew.
   */
  markSynced(eventIds: readonly string[], cursor?: RemoteCursor): Promise<void>;
  /** Marks events as refused by a remote; they will not be re-sent. */
  markFailed(eventIds: readonly string[]): Promise<void>;
  /**
   * Final verdicts on local events: marks them failed, rolls their records back to the last
   * state the server accepted (removing records that never had one), notifies watchers and
   * reports each verdict to the app. A verdict on an event already acknowledged (it reached
   * the client after a later push of the same event was taken) is stale and ignored.
   */
  rejectEvents(verdicts: readonly Verdict[]): Promise<void>;
  /**
   * Marks this device's own acknowledged events of a repository pending again and returns
   * them: the server's log was recreated and may lack them (it keeps each eventId once).
   */
  requeueLocalEvents(repository: string): Promise<StoredEvent[]>;
  /** Reads a meta value of the current namespace (for cursors and similar state). */
  getMeta(key: string): Promise<string | undefined>;
  /**
   * The remote took away read access to a repository: in one transaction, deletes its records
   * and events and the meta keys of `scope`; then reports its pending local changes as
   * rejections (`forbidden`, source `server`), notifies watchers and tells the app on
   * `accessRevocations`. `undefined` when the host's namespace is no longer in use.
   */
  revokeRepository(
    repository: string,
    scope: RevocationScope,
  ): Promise<AccessRevocation | undefined>;
}

/**
 * A way of moving changes between this client and a remote. The client attaches each of its
 * strategies, calls `onPushToRemote` for every local change that needs sync, and starts and
 * stops them.
 */
export interface SyncStrategy {
  /** A name unique among the client's strategies, for connection state and logs. */
  readonly name: string;
  /** The current connection state. */
  readonly connectionState: ConnectionState;
  /** Every change of the connection state (the current state first). */
  readonly stateChanges: Subscribable<ConnectionState>;
  /** True while connected, false otherwise (the current value first), as in the seed. */
  readonly connectionChanges: Subscribable<boolean>;
  /** Called once by the client before anything else. */
  attach(host: SyncHost): void;
  /** Begins syncing; resolves once started (not necessarily connected). */
  start(): Promise<void>;
  /** Stops syncing and closes connections; pending events stay pending. */
  stop(): Promise<void>;
  /** Stops and releases everything; the strategy cannot start again. */
  dispose(): Promise<void>;
  /**
   * A local change that needs sync was committed in `namespace`; push it when possible. A
   * strategy connected for another namespace leaves it: it stays pending in its own.
   */
  onPushToRemote(event: StoredEvent, namespace?: string): void | Promise<void>;
  /**
   * Optional: local changes of one repository committed in one transaction, oldest first, to
   * push together (in as few batches as the remote's limits allow). Without it the client
   * calls `onPushToRemote` once per event.
   */
  onPushManyToRemote?(events: readonly StoredEvent[], namespace?: string): void | Promise<void>;
  /** True when this strategy syncs the named repository. */
  handlesRepository(name: string): boolean;
  /**
   * Optional: the repositories this strategy was given to sync. `undefined`: every repository
   * it handles that no other strategy lists (see `routeRepositories`). The client gives each
   * repository to one strategy, and a strategy's host lists only the repositories it got.
   */
  readonly repositoryNames?: readonly string[] | undefined;
  /**
   * Optional: throws a `LocalFirstError` (`event_too_large`) when this strategy could never push
   * the event (it cannot fit in one frame of its server). The client calls it before a local
   * write is stored, so such a write fails at once and stores nothing.
   */
  assertPushable?(event: StoredEvent): void;
  /**
   * Optional: the credentials of one namespace, as the app gave them with
   * `useNamespace(namespace, { credentials })`. A strategy connects in a namespace with that
   * namespace's credentials only, never with another's.
   */
  setCredentials?(namespace: string, credentials: SyncCredentials): void;
}

/**
 * What a strategy tells listeners besides connection state: acks, final verdicts, catch-ups
 * done, resets, revocations, missing credentials and server errors.
 */
export type SyncActivity =
  /** A repository is caught up. */
  | {
      /** Activity discriminator. */
      type: 'sync_complete';
      /** The repository that is caught up. */
      repository: string;
      /** Its cursor at the end of the catch-up. */
      lastSequence: number;
    }
  /** A remote now holds these local events. */
  | {
      /** Activity discriminator. */
      type: 'acknowledged';
      /** The acknowledged events. */
      eventIds: string[];
    }
  /** Final verdicts: the server refused these events, or they can never fit in a frame. */
  | {
      /** Activity discriminator. */
      type: 'rejected';
      /** One verdict per refused event. */
      rejected: readonly Verdict[];
    }
  /** A repository started over from the beginning of the server's log. */
  | {
      /** Activity discriminator. */
      type: 'reset';
      /** The repository that started over. */
      repository: string;
      /** Why: a new epoch, or a cursor ahead of the log. */
      reason: ResetReason;
    }
  /** The server no longer lets this account read the repository; its local copy is gone. */
  | ({
      /** Activity discriminator. */
      type: 'access_revoked';
    } & AccessRevocation)
  /** The client is in a namespace this strategy has no credentials for: it does not connect. */
  | {
      /** Activity discriminator. */
      type: 'credentials_missing';
      /** The namespace without credentials. */
      namespace: string;
    }
  /** The server answered a request with an `error`. */
  | {
      /** Activity discriminator. */
      type: 'server_error';
      /** The error's protocol code. */
      code: string;
      /** The server's reason. */
      message: string;
      /** The `type` of the request that failed. */
      requestType?: string;
      /** The repository of the request that failed, when it had one. */
      repository?: string;
    };

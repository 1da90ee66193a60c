import {
  ERROR_CODES,
  type EventStore,
  LocalFirstError,
  type Logger,
  type SyncEvent,
  silentLogger,
  type Unsubscribe,
} from '@local-first/core';
import {
  type AckMessage,
  type AppendOutcome,
  CLOSE_CODES,
  type Fanout,
  type IncomingConnectionInfo,
  type RejectedEvent,
  type ServerEvent,
  type TransportConnection,
  type TransportServer,
} from '@local-first/core/adapter';
import type { Rules } from '../rules/rules.js';
import {
  type AccessPolicy,
  authorizerPolicy,
  type RepositoryAccess,
  rulesPolicy,
} from './access.js';
import { type AuthenticatedUser, type Authenticator, type Authorizer, allowAll } from './auth.js';
import { LiveBroadcast } from './live.js';
import { type EngineObserver, guardObserver } from './observer.js';
import { DEFAULT_LIMITS, type SyncLimits } from './options.js';
import { heldAmong, judge, type Verdict } from './push-checks.js';
import { FanoutRelay, type PushTicket } from './relay.js';
import { Session } from './session.js';

/** How long `readiness()` waits for the store. */
export const DEFAULT_READY_TIMEOUT_MS = 2_000;
/** A repository name no app uses: reading its end asks the store for nothing but an answer. */
const READY_PROBE_REPOSITORY = '__ready__';

/** Options of the sync engine. */
export interface SyncEngineOptions {
  /** Where events are stored; acks are sent only after it commits. */
  store: EventStore;
  /** Who may connect. */
  authenticator: Authenticator;
  /** What each user may read and write, per repository name. Default: everything. */
  authorizer?: Authorizer;
  /**
   * Rules instead of an authorizer (not both): deny by default, private copies per user,
   * members from token claims (see `Rules`). `setRules` replaces them while serving.
   */
  rules?: Rules;
  /** Limits; each one defaults to `DEFAULT_LIMITS`. */
  limits?: Partial<SyncLimits>;
  /** Structured logger (pino fits). Default: silent. */
  logger?: Logger;
  /** Server wall clock in ms; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Names this deployment in `auth_success`. Default: the store's `storeId()`, stable across
   * restarts; none is sent when the store has no such id.
   */
  serverId?: string;
  /**
   * Connects this engine to the other server nodes over the same store: it announces its
   * commits, and reads and broadcasts theirs to its own readers. Opened and closed by the
   * caller, like the store. Default: none (broadcasts stay inside this process).
   */
  fanout?: Fanout;
  /** Told of connections, commits, acks, broadcasts and errors (metrics). Default: none. */
  observer?: EngineObserver;
}

/** The outcome of a push, as `ack` reports it, plus what was newly stored. */
export interface PushResult {
  /** The `ack` to send the pusher. */
  ack: AckMessage;
  /** The events this push stored for the first time, to broadcast. */
  stored: ServerEvent[];
}

/**
 * The sync server's engine. It knows nothing of sockets: transports hand it message-level
 * connections, REST hands it pushes and reads. It runs the protocol of PROTOCOL.md for each
 * connection (messages of one connection strictly in order, except `ping` and `events_received`
 * which are taken at once; connections in parallel), stores events in the `EventStore`,
 * acknowledges after commit, and broadcasts what is new to every other authenticated connection
 * allowed to read it. With a `fanout`, it also announces each commit to the other nodes over
 * the same store, and broadcasts theirs to its own readers the same way (see `FanoutRelay`).
 */
export class SyncEngine {
  /** The event store, as given. */
  readonly store: EventStore;
  /** The authenticator, as given. */
  readonly authenticator: Authenticator;
  /** The authorizer given, or `allowAll`; unused while rules apply. */
  readonly authorizer: Authorizer;
  private policy: AccessPolicy;
  /** The limits in force: those given, the defaults for the rest. */
  readonly limits: Readonly<SyncLimits>;
  /** Where the engine logs. */
  readonly logger: Logger;
  /** The server's wall clock in ms. */
  readonly now: () => number;
  /** `now()` when the engine was built; the health check reports the uptime from it. */
  readonly startedAt: number;
  /** How this node hears of other nodes' commits, when it runs beside others. */
  readonly fanout: Fanout | undefined;
  /** The observer's hooks, each safe to call. */
  readonly observe: Required<EngineObserver>;
  private readonly sessions = new Set<Session>();
  private readonly detach: Unsubscribe[] = [];
  private readonly transports: TransportServer[] = [];
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private closing = false;
  private knownServerId: { value: string | undefined } | undefined;
  private readonly relay: FanoutRelay<Session> | undefined;
  private readonly live: LiveBroadcast<Session>;

  constructor(options: SyncEngineOptions) {
    this.store = options.store;
    this.authenticator = options.authenticator;
    if (options.rules && options.authorizer)
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'give the engine rules or an authorizer, not both',
      );
    this.authorizer = options.authorizer ?? allowAll;
    this.policy = options.rules ? rulesPolicy(options.rules) : authorizerPolicy(this.authorizer);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    if (options.serverId !== undefined) this.knownServerId = { value: options.serverId };
    this.fanout = options.fanout;
    this.observe = guardObserver(options.observer, this.logger);
    this.live = new LiveBroadcast<Session>({
      readers: () => this.sessions,
      epochOf: async (repository) => {
        try {
          return await this.epochOf(repository);
        } catch (error) {
          // The events are committed and the pusher gets its ack: a broadcast without its
          // epoch is still a correct hint, and readers check the epoch at their next catch-up.
          this.logger.warn({ error, repository }, 'could not read the epoch for a broadcast');
          return undefined;
        }
      },
      nameOf: (stored) => this.policy.nameOf(stored),
      maxEvents: this.limits.maxBatchEvents,
      maxBytes: this.limits.maxFrameBytes,
      // The observer hears client names: a private copy counts under its owner's name for it.
      sent: (repository, count, readers) =>
        this.observe.broadcast(this.policy.nameOf(repository), count, readers),
      failed: (error, repository) =>
        this.logger.warn({ error, repository }, 'broadcast to one connection failed'),
    });
    if (options.fanout) {
      const host = {
        store: this.store,
        limits: this.limits,
        logger: this.logger,
        broadcast: (repository: string, events: ServerEvent[], origin: Session | undefined) => {
          this.observe.relayed(this.policy.nameOf(repository), events);
          return this.broadcast(repository, events, origin);
        },
        readRepositories: () => this.readRepositories(),
      };
      this.relay = new FanoutRelay(host, options.fanout);
    }
    if (this.limits.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.checkLiveness(), this.limits.pingIntervalMs);
      this.pingTimer.unref?.();
    }
  }

  /**
   * Whether this node can serve: its store answers within `timeoutMs`, and its fan-out (when
   * it has one) hears the other nodes. Returns what is wrong, or nothing.
   */
  async readiness(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<string[]> {
    const problems: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LocalFirstError(ERROR_CODES.timeout, `no answer within ${timeoutMs} ms`, {
              details: { timeoutMs },
            }),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.store.lastSequence(READY_PROBE_REPOSITORY), late]);
    } catch (error) {
      problems.push(`store (${this.store.kind}): ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    if (this.fanout?.listening === false)
      problems.push('fan-out: not listening to the other nodes');
    return problems;
  }

  /** How access is decided, and how stored names map to the names clients use. */
  get accessPolicy(): AccessPolicy {
    return this.policy;
  }

  /**
   * What `user` may do with `repository` as the client names it, and where its events are
   * stored. Every path asks this: pushes, catch-ups, REST, and the broadcasts of every node.
   */
  access(user: AuthenticatedUser, repository: string): Promise<RepositoryAccess> {
    return this.policy.access(user, repository);
  }

  /**
   * Applies new rules from now on (a reloaded rules file). Each open connection is checked
   * again: a repository it read and may no longer read is revoked (`access_revoked`), and
   * broadcasts ask the new rules.
   */
  setRules(rules: Rules): void {
    this.policy = rulesPolicy(rules);
    for (const session of this.sessions) session.accessChanged();
  }

  /** Open connections (authenticated or not). */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** The `serverId` of `auth_success`: the option, else the store's stable id, else none. */
  async serverId(): Promise<string | undefined> {
    // Asked of the store on first use, not at construction: the store may not be open yet.
    this.knownServerId ??= { value: await this.store.storeId?.() };
    return this.knownServerId.value;
  }

  /** The epoch of a repository's log, or `undefined` when the store has no epochs. */
  async epochOf(repository: string): Promise<string | undefined> {
    return this.store.epoch ? this.store.epoch(repository) : undefined;
  }

  /**
   * Called before a catch-up of `repository` reads the log: with a fan-out, this node follows
   * the repository from then on and relays other nodes' commits of it to its readers.
   */
  async beforeCatchUp(repository: string): Promise<void> {
    await this.relay?.follow(repository);
  }

  /** Accepts the connections of a transport's server half. */
  attach(transport: TransportServer): void {
    this.transports.push(transport);
    this.detach.push(transport.onConnection((connection, info) => this.accept(connection, info)));
  }

  /** Runs the protocol on one connection (transports call this through `attach`). */
  accept(connection: TransportConnection, info: IncomingConnectionInfo): void {
    if (this.closing) {
      connection.close(CLOSE_CODES.goingAway, 'server shutting down');
      return;
    }
    const session = new Session(this, connection, info);
    this.sessions.add(session);
    this.observe.connectionOpened(info.transport);
    let open = true;
    connection.onClose(() => {
      this.sessions.delete(session);
      if (open) this.observe.connectionClosed(info.transport);
      open = false;
    });
  }

  /**
   * Validates, authorizes and stores a push, and broadcasts what is new to the other readers.
   * Invalid or forbidden events, and events whose stamp is malformed or more than
   * `maxClockDriftMs` ahead of `now()`, are listed in `rejected`; the others are stored all
   * the same. An event the repository's log already holds is acknowledged as a duplicate
   * whatever the stamp and write checks say now (when the store has `findEvents` and the user
   * may read the repository: nobody learns what a stream they may not read holds).
   * The candidates become the server's: pass objects decoded for this call (the new ones get
   * `serverSequence` and `serverCreatedAt` set on them). `known` is the user's access to the
   * repository when the caller has just asked for it. `origin` is the engine's own session that
   * pushed, left out of the broadcast; other callers leave it out.
   */
  async push(
    user: AuthenticatedUser,
    repository: string,
    candidates: readonly unknown[],
    origin?: Session,
    known?: RepositoryAccess,
  ): Promise<PushResult> {
    const access = known ?? (await this.access(user, repository));
    const now = this.now();
    const verdicts = candidates.map((candidate) =>
      judge(candidate, access, repository, now, this.limits.maxClockDriftMs),
    );
    const fresh = verdicts.flatMap(({ event, refusal }) => (refusal ? [] : [event!]));
    const ticket = this.relay?.beginPush(
      access.stored,
      verdicts.flatMap(({ event }) => (event ? [event.eventId] : [])),
      origin,
    );
    try {
      return await this.commit(
        { name: repository, stored: access.stored, readable: access.read },
        verdicts,
        fresh,
        origin,
        ticket,
      );
    } finally {
      if (ticket) this.relay?.endPush(ticket);
    }
  }

  /** The part of `push` from the append on; `repository` by the client's name and the store's. */
  private async commit(
    repository: { name: string; stored: string; readable: boolean },
    verdicts: readonly Verdict[],
    fresh: SyncEvent[],
    origin: Session | undefined,
    ticket: PushTicket | undefined,
  ): Promise<PushResult> {
    const started = performance.now();
    const { name, stored: where } = repository;
    const appended = fresh.length > 0 ? await this.store.append(where, fresh) : [];
    const seconds = fresh.length > 0 ? (performance.now() - started) / 1000 : 0;
    // Asked after the append: a refused repeat of an event this push just stored is its duplicate.
    // Only for a user who may read the stream: to anyone else, "you already sent this" would
    // tell which events a stream they may not read holds.
    const held = repository.readable ? await heldAmong(this.store, where, verdicts) : new Map();
    const outcomes: AppendOutcome[] = [];
    const rejected: RejectedEvent[] = [];
    // The candidates were decoded for this push and are ours: the server's two fields are set
    // on them for the broadcast, now that the store has kept what the client sent.
    const stored: ServerEvent[] = [];
    let next = 0;
    for (const { event, refusal } of verdicts) {
      const outcome = refusal ? event && held.get(event.eventId) : appended[next++];
      if (!outcome) {
        rejected.push(refusal!);
        continue;
      }
      outcomes.push(outcome);
      if (outcome.duplicate) continue;
      const storedEvent = event as ServerEvent;
      storedEvent.serverSequence = outcome.serverSequence;
      storedEvent.serverCreatedAt = outcome.serverCreatedAt;
      stored.push(storedEvent);
    }
    const eventIds = outcomes.map((outcome) => outcome.eventId);
    const duplicates = outcomes
      .filter((outcome) => outcome.duplicate)
      .map((outcome) => outcome.eventId);
    const ack: AckMessage = {
      type: 'ack',
      eventIds,
      repositories: eventIds.length > 0 ? { [name]: eventIds } : {},
    };
    if (duplicates.length > 0) ack.duplicates = duplicates;
    if (rejected.length > 0) ack.rejected = rejected;
    this.observe.committed(name, {
      appended: stored.length,
      duplicates: duplicates.length,
      rejectedCodes: rejected.map((refusal) => refusal.code),
      seconds,
    });
    if (outcomes.length > 0)
      ack.lastSequence = Math.max(...outcomes.map((outcome) => outcome.serverSequence));
    // With a fan-out, the relay announces first and tells which events a read has not sent yet.
    const own = ticket
      ? this.relay!.committed(
          ticket,
          stored,
          outcomes.filter((outcome) => outcome.duplicate),
        )
      : stored;
    if (own.length > 0) await this.broadcast(where, own, origin);
    return { ack, stored };
  }

  /**
   * Sends new events to every other connection that may read the stored repository (gathered over
   * the turn, see `LiveBroadcast`). Connections whose permission is already known get them
   * before the pusher's `ack`.
   */
  private broadcast(
    repository: string,
    events: ServerEvent[],
    origin: Session | undefined,
  ): Promise<void> {
    return this.live.broadcast(repository, events, origin);
  }

  /** The repositories that some open connection reads or has asked to read. */
  private readRepositories(): Set<string> {
    const names = new Set<string>();
    for (const session of this.sessions) session.addReadRepositories(names);
    return names;
  }

  private checkLiveness(): void {
    for (const session of this.sessions) session.checkLiveness();
    this.relay?.prune();
  }

  /**
   * Graceful shutdown: stop accepting connections, let every message already received finish
   * (so each push that will be acknowledged is committed first), then close the sockets and
   * the transports with 1001. The store stays open: whoever created it closes it
   * (`startSyncServer` does, after this).
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const stop of this.detach.splice(0)) stop();
    await Promise.all([...this.sessions].map((session) => session.drain()));
    // After the drain: the pushes it finished are announced to the other nodes too.
    this.relay?.close();
    for (const session of this.sessions)
      session.close(CLOSE_CODES.goingAway, 'server shutting down');
    await Promise.all(
      this.transports.map((transport) =>
        transport.close(CLOSE_CODES.goingAway, 'server shutting down'),
      ),
    );
    this.sessions.clear();
  }
}

import { ERROR_CODES, LocalFirstError } from './errors.js';
import type { Logger } from './logger.js';
import type { StoredEvent } from './model.js';
import type { SyncPath } from './sync-path.js';
import type { ConnectionState, SyncHost, SyncStrategy } from './sync-strategy.js';

// The client's side of its strategies: their joint connection state, and the hand-off of
// each local change.

/** The connection state of every strategy, and one word for all of them. */
export interface ClientConnectionState {
  /** `connected` when every strategy is; otherwise the least advanced state among them. */
  aggregate: ConnectionState;
  /** True when there is at least one strategy and all are connected. */
  isConnected: boolean;
  /** Each strategy's own state, by strategy name. */
  strategies: Readonly<Record<string, ConnectionState>>;
}

const STATE_RANK: Record<ConnectionState, number> = {
  failed: 0,
  stopped: 1,
  reconnecting: 2,
  connecting: 3,
  connected: 4,
};

/** The client's connection state: every strategy's, and the least advanced of them. */
export function aggregateConnectionState(
  strategies: readonly SyncStrategy[],
): ClientConnectionState {
  const states: Record<string, ConnectionState> = {};
  let aggregate: ConnectionState = strategies.length === 0 ? 'stopped' : 'connected';
  for (const strategy of strategies) {
    states[strategy.name] = strategy.connectionState;
    if (STATE_RANK[strategy.connectionState] < STATE_RANK[aggregate])
      aggregate = strategy.connectionState;
  }
  return { aggregate, isConnected: aggregate === 'connected', strategies: states };
}

/** Starts every strategy. */
export async function startAll(strategies: readonly SyncStrategy[]): Promise<void> {
  await Promise.all(strategies.map((strategy) => strategy.start()));
}

/** Stops every strategy; stopping one that is stopped changes nothing. */
export async function stopAll(strategies: readonly SyncStrategy[]): Promise<void> {
  await Promise.all(strategies.map((strategy) => strategy.stop()));
}

/**
 * The check a local write of `repository` must pass before it is stored: every strategy that
 * would push it must be able to (`SyncStrategy.assertPushable`). `undefined` when none checks.
 */
export function pushableCheck(
  strategies: readonly SyncStrategy[],
  repository: string,
): ((event: StoredEvent) => void) | undefined {
  const checking = strategies.filter(
    (strategy) => strategy.assertPushable && strategy.handlesRepository(repository),
  );
  if (checking.length === 0) return undefined;
  return (event) => {
    for (const strategy of checking) strategy.assertPushable!(event);
  };
}

/**
 * Hands local changes committed together in `namespace` to each strategy that syncs them: all
 * at once to a strategy with `onPushManyToRemote`, one by one otherwise. A failing strategy
 * only warns; the events stay pending.
 */
export function pushToStrategies(
  strategies: readonly SyncStrategy[],
  events: readonly StoredEvent[],
  namespace: string,
  logger: Logger,
): void {
  if (events.length === 0) return;
  const warn = (strategy: SyncStrategy, eventIds: readonly string[], error: unknown) =>
    logger.warn(
      { strategy: strategy.name, eventIds, error },
      'push failed; the events stay pending',
    );
  const repository = events[0]!.repository;
  for (const strategy of strategies) {
    if (!strategy.handlesRepository(repository)) continue;
    const calls = strategy.onPushManyToRemote
      ? [() => strategy.onPushManyToRemote!(events, namespace)]
      : events.map((event) => () => strategy.onPushToRemote(event, namespace));
    for (const [index, call] of calls.entries()) {
      const eventIds =
        calls.length === 1 ? events.map((event) => event.eventId) : [events[index]!.eventId];
      try {
        call()?.catch((error: unknown) => warn(strategy, eventIds, error));
      } catch (error) {
        warn(strategy, eventIds, error);
      }
    }
  }
}

/**
 * Which strategy syncs each repository. A strategy that names its repositories
 * (`SyncStrategy.repositoryNames`) syncs those; one that names none syncs every repository it
 * handles that no list names. So a WebSocket strategy without a list and a periodic one for
 * `settings` split the repositories between them, as in the seed's "Multiple Strategies".
 * A repository is synced by one strategy at most: the first acknowledgement marks an event
 * synced for every strategy, so a second would never push it. Two lists that name one
 * repository, or two strategies without a list that would both take it, are an error
 * (`invalid_argument`) naming both. A listed name the client has no repository of is warned
 * about: it is usually a typo, and that repository then goes elsewhere or nowhere.
 */
export function routeRepositories(
  repositories: readonly string[],
  strategies: readonly SyncStrategy[],
  logger: Logger,
): Routes {
  const routes = new Routes();
  const known = new Set(repositories);
  for (const strategy of strategies) {
    for (const name of strategy.repositoryNames ?? []) {
      if (!known.has(name))
        logger.warn(
          { strategy: strategy.name, repository: name },
          `strategy "${strategy.name}" names repository "${name}", which this client does not have`,
        );
    }
  }
  for (const repository of repositories) {
    const listing = strategies.filter((strategy) => strategy.repositoryNames?.includes(repository));
    const claimants =
      listing.length > 0
        ? listing
        : strategies.filter(
            (strategy) =>
              strategy.repositoryNames === undefined && strategy.handlesRepository(repository),
          );
    if (claimants.length > 1) {
      const [first, second] = claimants as [SyncStrategy, SyncStrategy];
      const how =
        listing.length > 0
          ? 'both list it'
          : 'neither lists its repositories; give one of them `repositoryNames`';
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        `repository "${repository}" would be synced by strategies "${first.name}" and "${second.name}" (${how}); a repository is synced by one strategy`,
        { details: { repository, strategies: claimants.map((strategy) => strategy.name) } },
      );
    }
    if (claimants[0]) routes.set(repository, claimants[0]);
  }
  return routes;
}

/** Which strategy syncs each repository: the answer of `routeRepositories`. */
export class Routes extends Map<string, SyncStrategy> {
  /** The strategy that syncs a repository, as a list of one or none. */
  to(repository: string): SyncStrategy[] {
    const strategy = this.get(repository);
    return strategy ? [strategy] : [];
  }

  /** The repositories a strategy syncs. */
  of(strategy: SyncStrategy): string[] {
    return [...this].filter(([, to]) => to === strategy).map(([name]) => name);
  }
}

/**
 * A strategy's `repositoryNames` option, or `repositories`, its other name: checked to be a
 * list of names, and one of the two at most. `undefined` when neither is given.
 */
export function listedRepositories(options: {
  repositoryNames?: readonly string[] | undefined;
  repositories?: readonly string[] | undefined;
}): readonly string[] | undefined {
  const { repositoryNames, repositories } = options;
  if (repositoryNames !== undefined && repositories !== undefined)
    throw new LocalFirstError(
      ERROR_CODES.invalidArgument,
      'give `repositoryNames` or `repositories` (the same option), not both',
    );
  const list = repositoryNames ?? repositories;
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.some((name) => typeof name !== 'string' || name === ''))
    throw new LocalFirstError(
      ERROR_CODES.invalidArgument,
      '`repositoryNames` must be a list of repository names',
    );
  return [...list];
}

/** What a client gives `syncHostOf`. */
export interface HostSource {
  clientId(): string;
  /** The namespace the client is in, or is switching to. */
  namespace(): string;
  repositoryNames(): string[];
  sync: SyncPath;
}

/**
 * The face of a client that its strategies see (`SyncStrategy.attach`); with a `namespace`,
 * every call is held to it (`SyncHost.inNamespace`).
 */
export function syncHostOf(source: HostSource, namespace?: string): SyncHost {
  const { sync } = source;
  return {
    get clientId() {
      return source.clientId();
    },
    get namespace() {
      return namespace ?? source.namespace();
    },
    inNamespace: (held) => syncHostOf(source, held),
    repositoryNames: () => source.repositoryNames(),
    getPendingEvents: async (repository) => {
      const pending = await sync.pendingEvents(namespace, repository);
      if (repository !== undefined) return pending;
      // A strategy sees the pending events of the repositories it syncs, not another's.
      const names = new Set(source.repositoryNames());
      return pending.filter((event) => names.has(event.repository));
    },
    applyRemoteEvents: (repository, events, cursor) =>
      sync.applyRemoteEvents(namespace, repository, events, cursor),
    markSynced: (eventIds, cursor) => sync.markSynced(namespace, eventIds, cursor),
    markFailed: (eventIds) => sync.markFailed(namespace, eventIds),
    rejectEvents: (verdicts) => sync.rejectEvents(namespace, verdicts),
    requeueLocalEvents: (repository) => sync.requeueLocalEvents(namespace, repository),
    revokeRepository: (repository, scope) => sync.revokeRepository(namespace, repository, scope),
    // After dispose() the storage is closed, so this fails with `closed` as the client would.
    getMeta: (key) => sync.meta(namespace, key),
  };
}

import type { LocalFirstClient } from './client.js';
import type { Logger } from './logger.js';
import type { StoredEvent } from './model.js';
import type { ConnectionState, SyncHost, SyncStrategy } from './sync-strategy.js';

// The client's side of its strategies: their joint connection state, and the hand-off of
// each local change.

/** The connection state of every strategy, and one word for all of them. */
export interface ClientConnectionState {
  /** `connected` when every strategy is; otherwise the least advanced state among them. */
  aggregate: ConnectionState;
  /** True when there is at least one strategy and all are connected. */
  isConnected: boolean;
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

/** Hands a committed local change to each strategy that syncs it; a failing one only warns. */
export function pushToStrategies(
  strategies: readonly SyncStrategy[],
  event: StoredEvent,
  logger: Logger,
): void {
  const warn = (strategy: SyncStrategy, error: unknown) =>
    logger.warn(
      { strategy: strategy.name, eventId: event.eventId, error },
      'push failed; the event stays pending',
    );
  for (const strategy of strategies) {
    if (!strategy.handlesRepository(event.repository)) continue;
    try {
      strategy.onPushToRemote(event)?.catch((error: unknown) => warn(strategy, error));
    } catch (error) {
      warn(strategy, error);
    }
  }
}

/** The face of a client that its strategies see (`SyncStrategy.attach`). */
export function syncHostOf(client: LocalFirstClient, repositoryNames: () => string[]): SyncHost {
  return {
    get clientId() {
      return client.clientId;
    },
    repositoryNames,
    getPendingEvents: (repository) => client.getPendingEvents(repository),
    applyRemoteEvents: (repository, events, cursor) =>
      client.applyRemoteEvents(repository, events, cursor),
    markSynced: (eventIds, cursor) => client.markSynced(eventIds, cursor),
    markFailed: (eventIds) => client.markFailed(eventIds),
    rejectEvents: (verdicts) => client.rejectEvents(verdicts),
    requeueLocalEvents: (repository) => client.requeueLocalEvents(repository),
    // After dispose() the storage is closed, so this fails with `closed` as the client would.
    getMeta: (key) => client.storage.getMeta(key),
  };
}

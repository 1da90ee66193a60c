import type {
  ConnectionState,
  LocalFirstClient,
  Subscribable,
  Unsubscribe,
} from '@local-first/core';

/** What the indicator says for each state of the strategy; `state` goes to `data-state`. */
const CONNECTION_LABELS: Record<ConnectionState, { state: string; text: string }> = {
  connected: { state: 'connected', text: 'Connected' },
  connecting: { state: 'connecting', text: 'Connecting…' },
  reconnecting: { state: 'reconnecting', text: 'Reconnecting…' },
  // The app stops sync only when the browser goes offline.
  stopped: { state: 'offline', text: 'Offline' },
  failed: { state: 'failed', text: 'Sign-in refused' },
};

export function showConnection(
  element: HTMLElement,
  states: Subscribable<ConnectionState>,
): Unsubscribe {
  return states.subscribe((connection) => {
    const label = CONNECTION_LABELS[connection];
    element.dataset.state = label.state;
    element.textContent = label.text;
  });
}

/**
 * Shows how many local changes the server has not acknowledged yet. The count is the client's
 * own (`pendingCount`): kept from what each transaction commits in any tab, never re-read.
 */
export function showPending(element: HTMLElement, client: LocalFirstClient): Unsubscribe {
  return client.pendingCount.subscribe((count) => {
    element.dataset.count = String(count);
    element.textContent =
      count === 0
        ? 'All changes synced'
        : `${count} ${count === 1 ? 'change' : 'changes'} waiting to sync`;
  });
}

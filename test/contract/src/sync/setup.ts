import type { RecordData, StorageAdapter, SyncStrategy, Transport } from '@local-first/core';

/** A strategy the sync suite can drive: any `SyncStrategy` whose credentials can be replaced. */
export type RefreshableStrategy = SyncStrategy & {
  /** Replaces the strategy's token; the suite uses it to change users mid-test. */
  updateAuthToken(token: string): void;
};

/** The `fetch` a REST strategy calls: the platform's, or any function of the same shape. */
export type SyncFetch = (input: string, init: RequestInit) => Promise<Response>;

/** What every combination provides to `describeSync`, whatever its wire. */
export interface SyncSetupBase {
  /**
   * The storage of one device: the same `device` name gives the same data again after the
   * previous adapter was closed when the adapter is persistent; a non-persistent adapter is
   * handed out once per device and reused across that device's restarts.
   */
  storage(device: string): Promise<StorageAdapter>;
  /** Two tokens the server accepts (they may name different users that can read each other's data). */
  tokens: readonly [string, string];
  /** Restarts the server over the same store (same address). */
  restartServer(): Promise<void>;
  /** False when the server's store forgets everything on restart (the restart scenario is skipped). */
  durableServer: boolean;
  /** The server's page size: the late-joiner scenario writes more than one page. */
  maxPageEvents: number;
  /** Stops the server and releases what the setup made; run after each test. */
  teardown(): Promise<void>;
}

/**
 * A strategy that holds one connection over a `Transport` (the WebSocket protocol). `wire` may
 * be left out: setups written before REST ones existed are of this kind.
 */
export interface WebSocketSyncSetup extends SyncSetupBase {
  /** Which kind of setup this is. */
  wire?: 'websocket';
  /** A new client transport. */
  transport(): Transport;
  /** The URL the strategy connects to with this transport; the suite's raw pushes go here. */
  websocketUrl: string;
  /** Builds the strategy under test for one client, over the (counting) transport given. */
  strategy(options: {
    transport: Transport;
    token: string;
    repositories: string[];
  }): RefreshableStrategy;
}

/** A strategy that syncs over the server's REST API through a `fetch`. */
export interface RestSyncSetup extends SyncSetupBase {
  /** Which kind of setup this is. */
  wire: 'rest';
  /**
   * Origin (and any path prefix before `/api`) of the server's REST API, e.g.
   * `http://127.0.0.1:8080`; the suite's raw pushes go here.
   */
  baseUrl: string;
  /** The `fetch` the suite wraps for each device and uses itself. Default: `globalThis.fetch`. */
  fetch?: SyncFetch;
  /** Builds the strategy under test for one client; it must make every request through `fetch`. */
  strategy(options: {
    fetch: SyncFetch;
    token: string;
    repositories: string[];
  }): RefreshableStrategy;
}

/** What a combination under test provides to `describeSync`, once per describe block. */
export type SyncSetup = WebSocketSyncSetup | RestSyncSetup;

/** The `fetch` of a REST setup: its own, else the platform's. */
export function fetchOf(setup: RestSyncSetup): SyncFetch {
  if (setup.fetch) return setup.fetch;
  if (typeof globalThis.fetch !== 'function')
    throw new Error('no `fetch` on this platform: give the REST setup one as `fetch`');
  return globalThis.fetch.bind(globalThis);
}

export interface Item extends RecordData {
  id: string;
  title: string;
}

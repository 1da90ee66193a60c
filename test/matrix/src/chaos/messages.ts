import type { RecordData, StoredRecord, SyncStatus } from '@local-first/core';

/** The repository every chaos client writes to. */
export const REPOSITORY = 'todos';

/** A todo as the chaos clients write it: `value` is unique per write and names its writer. */
export interface ChaosTodo extends RecordData {
  id: string;
  value: string;
  writer: string;
  done: boolean;
}

/** How the test starts a client process: one JSON argument. */
export interface ClientConfig {
  name: string;
  /** Starts at 1 and grows with every restart of this client. */
  incarnation: number;
  storageFile: string;
  transport: 'ws' | 'socketio';
  url: string;
  token: string;
  seed: number;
  recordIds: readonly string[];
  /** Pause between one write resolving and the next starting, drawn in [min, max]. */
  paceMs: readonly [number, number];
  /** Share of writes that are deletes. */
  deleteShare: number;
  heartbeatIntervalMs: number;
  pongTimeoutMs: number;
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
  connectTimeoutMs: number;
}

/** Commands, one JSON line each on the client's stdin. */
export type ClientCommand =
  /** Stop writing, wait for sync, answer `synced`. */
  | { type: 'sync'; timeoutMs: number }
  /**
   * Wait until the local state holds these winning events (record id → eventId) and the log
   * holds `events` events of the repository, then answer `state` and exit; answer anyway, with
   * `converged: false`, after `timeoutMs`.
   */
  | { type: 'finish'; expected: Record<string, string>; events: number; timeoutMs: number };

/** A local event as the final report lists it. */
export interface LocalEventSummary {
  eventId: string;
  dataId: string;
  syncStatus: SyncStatus;
}

/** Lines a client prints on stdout, one JSON object each. */
export type ClientLine =
  | { type: 'ready'; clientId: string; incarnation: number; pending: number; records: number }
  | { type: 'connection'; state: string }
  | {
      type: 'write';
      op: 'upsert' | 'delete';
      id: string;
      eventId: string;
      /** For upserts: the unique value written. */
      value?: string;
    }
  | { type: 'write_failed'; op: 'upsert' | 'delete'; id: string; error: string }
  | {
      type: 'synced';
      synced: boolean;
      writes: number;
      pending: number;
      connection: string;
    }
  | {
      type: 'state';
      converged: boolean;
      /** Every record, tombstones included, as storage holds it. */
      records: StoredRecord[];
      /** What the app sees: `repository.query().includeDeleted().get()`. */
      visible: RecordData[];
      localEvents: LocalEventSummary[];
      /** Every eventId of the repository's log, local and remote. */
      loggedEventIds: string[];
    };

export type ClientLineType = ClientLine['type'];

import type { RecordData, StoredEvent, StoredRecord } from '@local-first/core';
import initSqlJs from 'sql.js';
import type { Persister } from '../src/index.js';

/** One sql.js module for a whole test file: databases made from it share nothing. */
export const sqlJs = initSqlJs();

export function record(id: string, data: RecordData = {}): StoredRecord {
  return { id, data: { id, ...data }, deleted: false, hlc: `hlc-${id}`, eventId: `evt-${id}` };
}

export function event(eventId: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    eventId,
    repository: 'tasks',
    operation: 0,
    createdAt: '2024-05-01T12:00:00.000Z',
    dataId: `task-${eventId}`,
    data: { id: `task-${eventId}` },
    hlc: `hlc-${eventId}`,
    syncStatus: 'pending',
    local: true,
    ...overrides,
  };
}

/** Keeps every saved file in memory, so tests can look at each one and wait for the next. */
export class RecordingPersister implements Persister {
  readonly saves: Uint8Array[] = [];
  private waiting: (() => void)[] = [];
  failNextSaves = 0;

  constructor(private readonly initial?: Uint8Array) {}

  async load(): Promise<Uint8Array | undefined> {
    return this.saves.at(-1) ?? this.initial;
  }

  async save(bytes: Uint8Array): Promise<void> {
    if (this.failNextSaves > 0) {
      this.failNextSaves--;
      throw new Error('disk full (simulated)');
    }
    this.saves.push(bytes.slice());
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Resolves when the next save lands. */
  nextSave(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** A persister that only hands out one saved file, for opening a snapshot on its own. */
export function snapshotPersister(bytes: Uint8Array): Persister {
  return { load: async () => bytes, save: async () => {} };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncEvent } from '@local-first/core';
import { afterEach } from 'vitest';

/** A valid insert event whose content follows from its id, with extra data fields. */
export function sampleEvent(eventId: string, data: Record<string, unknown> = {}): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: '2025-01-23T10:00:00.000Z',
    dataId: `record-${eventId}`,
    data: { id: `record-${eventId}`, ...data },
  };
}

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A fresh folder, removed after the test. */
export function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'store-sqlite-'));
  folders.push(folder);
  return folder;
}

/** A database path in a fresh folder, removed after the test. */
export function tempPath(): string {
  return join(tempFolder(), 'events.sqlite');
}

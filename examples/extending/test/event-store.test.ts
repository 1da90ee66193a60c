import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStore } from '@local-first/contract';
import { createLocalFirstContainer, ERROR_CODES, type EventStore, TOKENS } from '@local-first/core';
import { noAuth, SERVER_TOKENS, type SyncEngine, syncEngineModule } from '@local-first/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonLinesEventStore, jsonLinesEventStoreModule } from '../src/event-store/index.js';

// The conformance suite: a new folder per fixture, and `reopen` over the same file. No `node`:
// two stores must never share one file, so the multi-node tests are skipped.
describeEventStore('JsonLinesEventStore', async ({ now }) => {
  const folder = await mkdtemp(join(tmpdir(), 'lf-json-lines-'));
  const path = join(folder, 'events.jsonl');
  return {
    store: new JsonLinesEventStore({ path, now }),
    reopen: async () => new JsonLinesEventStore({ path, now }),
    teardown: () => rm(folder, { recursive: true, force: true }),
  };
});

const EVENT = {
  eventId: '0194a0c2-7b1e-7cc0-9a61-2f1d0f3b9e55',
  operation: 0,
  createdAt: '2025-01-23T09:59:00.000Z',
  dataId: 'todo-1',
  data: { id: 'todo-1', title: 'Write the guide' },
  hlc: '0001737626340000:00000:client-a',
} as const;
const NOW = () => new Date('2025-01-23T10:00:00.000Z');

// What the suite cannot know about this store: its file, and its module.
describe('JsonLinesEventStore', () => {
  let folder: string;
  let path: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'lf-json-lines-own-'));
    path = join(folder, 'events.jsonl');
  });
  afterEach(() => rm(folder, { recursive: true, force: true }));

  it('drops a torn last line, the append that never resolved, and appends after it', async () => {
    const store = new JsonLinesEventStore({ path, now: NOW });
    await store.open();
    await store.append('todos', [EVENT]);
    await store.close();
    await appendFile(path, '{"type":"commit","repository":"todos","at":1,"events":[{"ev');

    const again = new JsonLinesEventStore({ path, now: NOW });
    await again.open();
    expect(await again.lastSequence('todos')).toBe(1);
    const [next] = await again.append('todos', [{ ...EVENT, eventId: 'second' }]);
    expect(next).toMatchObject({ serverSequence: 2, duplicate: false });
    await again.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.map((line) => (line === '' ? '' : JSON.parse(line).type))).toEqual([
      'store',
      'commit',
      'commit',
      '',
    ]);
  });

  it('fails open() with storage_failure on a file that is not its own', async () => {
    await writeFile(path, '{"type":"commit","repository":"todos","at":1,"events":[]}\n');
    const store = new JsonLinesEventStore({ path });
    await expect(store.open()).rejects.toMatchObject({ code: ERROR_CODES.storageFailure });
  });

  it('refuses an open() that close() overtook, and cannot be opened again', async () => {
    const store = new JsonLinesEventStore({ path });
    const opening = store.open();
    await store.close();
    await expect(opening).rejects.toMatchObject({ code: ERROR_CODES.closed });
    await expect(store.open()).rejects.toMatchObject({ code: ERROR_CODES.closed });
    await expect(store.lastSequence('todos')).rejects.toMatchObject({ code: ERROR_CODES.closed });
  });

  it('is bound as a singleton by its module, and the sync engine stores through it', async () => {
    const container = createLocalFirstContainer(
      jsonLinesEventStoreModule({ path, now: NOW }),
      syncEngineModule(),
    );
    container.bind(SERVER_TOKENS.Authenticator).toConstantValue(noAuth());
    const store = container.get<EventStore>(TOKENS.EventStore);
    expect(store).toBeInstanceOf(JsonLinesEventStore);
    expect(container.get<EventStore>(TOKENS.EventStore)).toBe(store);
    await store.open();
    const engine = container.get<SyncEngine>(SERVER_TOKENS.SyncEngine);
    try {
      expect(await engine.serverId()).toBe(await store.storeId!());
      const user = { userId: 'ada' };
      const first = await engine.push(user, 'todos', [structuredClone(EVENT)]);
      expect(first.ack).toMatchObject({ eventIds: [EVENT.eventId], lastSequence: 1 });
      const resent = await engine.push(user, 'todos', [structuredClone(EVENT)]);
      expect(resent.ack).toMatchObject({ eventIds: [EVENT.eventId], duplicates: [EVENT.eventId] });
      expect(resent.stored).toEqual([]);
    } finally {
      await engine.close();
      await store.close();
    }
  });
});

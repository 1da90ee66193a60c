import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageAdapter } from '@local-first/contract';
import {
  createLocalFirstContainer,
  ERROR_CODES,
  localFirstClientModule,
  Repository,
  repositoriesModule,
  resolveClient,
  type StorageAdapter,
  TOKENS,
} from '@local-first/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonFileStorageAdapter, jsonFileStorageModule } from '../src/storage/index.js';

// The conformance suite: a new folder per test, and a second adapter over the same file for
// the close-and-reopen tests (the adapter declares `persistent: true`).
describeStorageAdapter('json-file', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'lf-json-file-'));
  const path = join(folder, 'store.json');
  return {
    adapter: new JsonFileStorageAdapter({ path }),
    reopen: async () => new JsonFileStorageAdapter({ path }),
    teardown: () => rm(folder, { recursive: true, force: true }),
  };
});

// What the suite cannot know about this adapter: its file, its options and its module.
describe('JsonFileStorageAdapter', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'lf-json-file-own-'));
  });
  afterEach(() => rm(folder, { recursive: true, force: true }));

  it('refuses options without a path with invalid_argument', () => {
    expect(() => new JsonFileStorageAdapter({ path: '' })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.invalidArgument }),
    );
  });

  it('makes the folder on the first commit and leaves no temporary file', async () => {
    const path = join(folder, 'nested', 'store.json');
    const adapter = new JsonFileStorageAdapter({ path, syncWrites: false });
    await adapter.open();
    await adapter.setMeta('cursor', '1');
    await adapter.close();
    expect(await readdir(join(folder, 'nested'))).toEqual(['store.json']);
  });

  it('fails open() with storage_failure on a file that is not its own', async () => {
    const path = join(folder, 'store.json');
    await writeFile(path, '{"something":"else"}');
    const adapter = new JsonFileStorageAdapter({ path });
    await expect(adapter.open()).rejects.toMatchObject({ code: ERROR_CODES.storageFailure });
  });

  it('lets close() wait for an open() under way, and cannot be opened again', async () => {
    const adapter = new JsonFileStorageAdapter({ path: join(folder, 'store.json') });
    const opening = adapter.open();
    await adapter.close();
    await opening;
    await expect(adapter.getMeta('k')).rejects.toMatchObject({ code: ERROR_CODES.closed });
    await expect(adapter.open()).rejects.toMatchObject({ code: ERROR_CODES.closed });
  });

  it('is bound as a singleton by its module, and a client keeps its notes across restarts', async () => {
    const path = join(folder, 'store.json');
    const start = async () => {
      const notes = new Repository<{ id: string; text: string }>({ name: 'notes' });
      const container = createLocalFirstContainer(
        jsonFileStorageModule({ path }),
        repositoriesModule(notes),
        localFirstClientModule(),
      );
      const storage = container.get<StorageAdapter>(TOKENS.StorageAdapter);
      expect(storage).toBeInstanceOf(JsonFileStorageAdapter);
      expect(container.get<StorageAdapter>(TOKENS.StorageAdapter)).toBe(storage);
      const client = resolveClient(container);
      await client.initialize();
      return { client, notes };
    };
    const first = await start();
    await first.notes.upsert({ id: 'n1', text: 'written before the restart' });
    await first.client.dispose();

    const second = await start();
    expect(await second.notes.getById('n1')).toMatchObject({ text: 'written before the restart' });
    expect(await second.notes.getPendingEvents()).toHaveLength(1);
    await second.client.dispose();
  });
});

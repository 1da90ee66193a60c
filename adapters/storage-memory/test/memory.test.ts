import {
  createLocalFirstContainer,
  ERROR_CODES,
  type StorageAdapter,
  type StoredRecord,
  TOKENS,
} from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { MemoryStorageAdapter, memoryStorageModule } from '../src/index.js';

const TASK: StoredRecord = {
  id: 't1',
  data: { id: 't1', title: 'a' },
  deleted: false,
  hlc: '0000000000000001:00000:n',
  eventId: 'e1',
};

async function opened(adapter: MemoryStorageAdapter): Promise<MemoryStorageAdapter> {
  await adapter.open();
  return adapter;
}

describe('MemoryStorageAdapter', () => {
  it('declares itself neither persistent nor a native query engine', () => {
    const adapter = new MemoryStorageAdapter();
    expect(adapter.name).toBe('memory');
    expect(adapter.capabilities).toEqual({ persistent: false, nativeQuery: false });
  });

  it('copies values by default', async () => {
    const adapter = await opened(new MemoryStorageAdapter());
    const task = structuredClone(TASK);
    await adapter.putRecord('tasks', task);
    const read = await adapter.getRecord('tasks', 't1');
    expect(read).toEqual(task);
    expect(read).not.toBe(task);
  });

  it('shares values instead of copying them with clone: false', async () => {
    const adapter = await opened(new MemoryStorageAdapter({ clone: false }));
    const task = structuredClone(TASK);
    await adapter.putRecord('tasks', task);
    expect(await adapter.getRecord('tasks', 't1')).toBe(task);
    task.data!.title = 'changed by the caller';
    expect((await adapter.getRecord('tasks', 't1'))?.data?.title).toBe('changed by the caller');
  });

  it('starts empty in every new instance', async () => {
    const first = await opened(new MemoryStorageAdapter());
    await first.putRecord('tasks', TASK);
    await first.close();
    const second = await opened(new MemoryStorageAdapter());
    expect(await second.getRecord('tasks', 't1')).toBeUndefined();
  });

  it('cannot be opened again once closed', async () => {
    const adapter = await opened(new MemoryStorageAdapter());
    await adapter.close();
    await adapter.close();
    await expect(adapter.open()).rejects.toMatchObject({ code: ERROR_CODES.closed });
  });
});

describe('memoryStorageModule', () => {
  it('binds one MemoryStorageAdapter per container as the StorageAdapter', () => {
    const container = createLocalFirstContainer(memoryStorageModule());
    const adapter = container.get<StorageAdapter>(TOKENS.StorageAdapter);
    expect(adapter).toBeInstanceOf(MemoryStorageAdapter);
    expect(container.get<StorageAdapter>(TOKENS.StorageAdapter)).toBe(adapter);
    const other = createLocalFirstContainer(memoryStorageModule());
    expect(other.get<StorageAdapter>(TOKENS.StorageAdapter)).not.toBe(adapter);
  });

  it('passes its options to the adapter', async () => {
    const container = createLocalFirstContainer(memoryStorageModule({ clone: false }));
    const adapter = container.get<StorageAdapter>(TOKENS.StorageAdapter);
    await adapter.open();
    const task = structuredClone(TASK);
    await adapter.putRecord('tasks', task);
    expect(await adapter.getRecord('tasks', 't1')).toBe(task);
  });
});

import { describeEventStore } from '@local-first/contract';
import { createLocalFirstContainer, ERROR_CODES, type EventStore, TOKENS } from '@local-first/core';
import { describe, expect, it } from 'vitest';
import { MemoryEventStore, memoryEventStoreModule } from '../src/index.js';

// Nothing to remove: a setup may leave `teardown` out.
describeEventStore('MemoryEventStore', async ({ now }) => ({
  store: new MemoryEventStore({ now }),
}));

describe('MemoryEventStore', () => {
  it('cannot be opened again once closed', async () => {
    const store = new MemoryEventStore();
    await store.open();
    await store.close();
    await expect(store.open()).rejects.toMatchObject({ code: ERROR_CODES.closed });
  });

  it('is bound as a singleton by its module', () => {
    const container = createLocalFirstContainer(memoryEventStoreModule());
    const store = container.get<EventStore>(TOKENS.EventStore);
    expect(store).toBeInstanceOf(MemoryEventStore);
    expect(store.kind).toBe('memory');
    expect(container.get<EventStore>(TOKENS.EventStore)).toBe(store);
  });
});

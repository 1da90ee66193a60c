import type { EventStore } from '@local-first/core';
import { afterEach, beforeEach, describe } from 'vitest';
import { appendTests } from './append.js';
import { concurrencyTests } from './concurrency.js';
import { epochTests } from './epoch.js';
import {
  type EventStoreFixture,
  type EventStoreSetup,
  ManualClock,
  type SuiteContext,
} from './fixtures.js';
import { lifecycleTests } from './lifecycle.js';
import { lookupTests } from './lookup.js';
import { nameTests } from './names.js';
import { readTests } from './read.js';

/**
 * The conformance suite of the `EventStore` contract. `setup` runs before every test and returns
 * a new, unopened store over empty data that stamps `serverCreatedAt` with the `now` it is
 * given. The suite opens it, closes every store it opened, then calls `teardown`. Give `reopen`
 * when the store's data outlives it, and the suite also checks what survives a reopen; give
 * `node` when several stores (connections, server nodes) can share the data at the same time,
 * and the suite also runs writers on separate nodes against a reader on another. The tests of
 * the optional members (`findEvents`, `epoch`, `newEpoch`, `storeId`) are skipped for a store
 * without them.
 *
 * @example
 * describeEventStore('MemoryEventStore', async ({ now }) => ({
 *   store: new MemoryEventStore({ now }),
 *   teardown: async () => {},
 * }));
 */
export function describeEventStore(name: string, setup: EventStoreSetup): void {
  describe(`EventStore contract: ${name}`, () => {
    interface Running {
      fixture: EventStoreFixture;
      clock: ManualClock;
      opened: EventStore[];
      extra: EventStoreFixture[];
    }
    let current: Running | undefined;
    const running = (): Running => {
      if (!current) throw new Error('the event store fixture is only there while a test runs');
      return current;
    };
    const context: SuiteContext = {
      get store(): EventStore {
        return running().fixture.store;
      },
      get clock(): ManualClock {
        return running().clock;
      },
      get canReopen(): boolean {
        return running().fixture.reopen !== undefined;
      },
      async reopen(): Promise<EventStore> {
        const { fixture, opened } = running();
        if (!fixture.reopen) throw new Error('this fixture cannot reopen its data');
        const store = await fixture.reopen();
        opened.push(store);
        await store.open();
        return store;
      },
      get canAddNodes(): boolean {
        return running().fixture.node !== undefined;
      },
      async node(): Promise<EventStore> {
        const { fixture, opened } = running();
        if (!fixture.node) throw new Error('this fixture cannot add nodes');
        const store = await fixture.node();
        opened.push(store);
        await store.open();
        return store;
      },
      async anotherFixture(): Promise<EventStoreFixture> {
        const { clock, extra } = running();
        const fixture = await setup({ now: () => clock.now() });
        extra.push(fixture);
        return fixture;
      },
    };

    beforeEach(async () => {
      const clock = new ManualClock();
      const fixture = await setup({ now: () => clock.now() });
      current = { fixture, clock, opened: [fixture.store], extra: [] };
      await fixture.store.open();
    });

    afterEach(async () => {
      const finished = current;
      current = undefined;
      if (!finished) return;
      try {
        for (const store of finished.opened) await store.close();
      } finally {
        for (const fixture of [finished.fixture, ...finished.extra]) await fixture.teardown?.();
      }
    });

    describe('append', () => appendTests(context));
    describe('read', () => readTests(context));
    describe('names and sizes', () => nameTests(context));
    describe('concurrent callers', () => concurrencyTests(context));
    describe('lifecycle', () => lifecycleTests(context));
    describe('epochs', () => epochTests(context));
    describe('lookup by eventId', () => lookupTests(context));
  });
}

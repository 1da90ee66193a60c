import type { Transport } from '@local-first/core';
import { formatHlc } from '@local-first/core/adapter';
import { SyncEngine, staticTokens } from '@local-first/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  LocalTransport,
  makeEngine,
  makeReplica,
  TOKENS_FIXTURE,
  type Todo,
} from './strategy-fixtures.js';

const REPO = 'todos';

describe('WebSocketSyncStrategy over several nodes of one deployment', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Two engines over one log, each behind its own URL: nodes of one deployment. */
  async function twoNodes() {
    const first = await makeEngine({ limits: { pingIntervalMs: 0 } });
    const second = new SyncEngine({
      store: first.store,
      authenticator: staticTokens(TOKENS_FIXTURE),
      limits: { pingIntervalMs: 0 },
    });
    const nodes = {
      'ws://node-a/sync': new LocalTransport(first.engine),
      'ws://node-b/sync': new LocalTransport(second),
    } as Record<string, LocalTransport>;
    const opened: string[] = [];
    const transport: Transport = {
      name: 'nodes',
      open: (url, options) => {
        opened.push(url);
        return nodes[url]!.open(url, options);
      },
    };
    const close = async () => {
      await first.engine.close();
      await second.close();
    };
    return { engine: first.engine, store: first.store, nodes, transport, opened, close };
  }

  it('moves to another node when its node is down, and keeps its cursor across nodes', async () => {
    const { engine, store, nodes, transport, opened, close } = await twoNodes();
    nodes['ws://node-a/sync']!.online = false;
    const replica = await makeReplica(engine, {
      transport: transport as LocalTransport,
      websocketUrl: ['ws://node-a/sync', 'ws://node-b/sync'],
    });
    await replica.todos.upsert({ id: '1', title: 'written while node A was down' });
    await replica.client.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const synced = replica.strategy.whenSynced(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect({ synced: await synced, opened }).toEqual({
      synced: true,
      opened: ['ws://node-a/sync', 'ws://node-b/sync'],
    });
    expect(await store.lastSequence(REPO)).toBe(1);
    const cursorKey = 'websocket:cursor:ws://node-a/sync:todos';
    expect(await replica.client.storage.getMeta(cursorKey)).toBeDefined();

    // Node B goes down; node A is back: the client moves and catches up from the same cursor.
    nodes['ws://node-a/sync']!.online = true;
    nodes['ws://node-b/sync']!.online = false;
    await store.append(REPO, [
      {
        eventId: 'srv-2',
        operation: 0,
        createdAt: new Date().toISOString(),
        dataId: '2',
        data: { id: '2', title: 'written elsewhere' },
        hlc: formatHlc({ wall: Date.now(), counter: 0 }, 'srv'),
      },
    ]);
    nodes['ws://node-b/sync']!.dropAll();
    await vi.advanceTimersByTimeAsync(1_000);
    const again = replica.strategy.whenSynced(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect({ synced: await again, last: opened.at(-1) }).toEqual({
      synced: true,
      last: 'ws://node-a/sync',
    });
    expect((await replica.todos.query().get()).map((todo: Todo) => todo.title)).toEqual([
      'written while node A was down',
      'written elsewhere',
    ]);
    await replica.client.dispose();
    await close();
  });

  it('refuses an empty list of URLs with a coded error', async () => {
    const { engine } = await makeEngine({ limits: { pingIntervalMs: 0 } });
    await expect(makeReplica(engine, { websocketUrl: [] })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await engine.close();
  });
});

import type { AccessRevocation, Rejection, SyncEvent } from '@local-first/core';
import { formatHlc, parsePosition } from '@local-first/core/adapter';
import { Rules, type RulesDocument, staticTokens } from '@local-first/server';
import { describe, expect, it } from 'vitest';
import type { SyncActivity } from '../src/index.js';
import { cursorKeyOf, LocalTransport, makeEngine, makeReplica, seen } from './strategy-fixtures.js';

// A server whose rules take a repository away from a connected client (a re-auth with other
// claims, or new rules), and give it back.

const MEMBERS: RulesDocument = {
  repositories: [
    {
      repository: 'todos',
      read: { claim: 'lists', includes: 'todos' },
      write: { claim: 'lists', includes: 'todos' },
    },
  ],
};
const TOKENS = {
  'token-alice': { userId: 'alice', claims: { lists: ['todos'] } },
  'token-alice-left': { userId: 'alice', claims: { lists: [] } },
};

function serverEvent(id: string, counter: number): SyncEvent {
  return {
    eventId: `srv-${id}`,
    operation: 0,
    createdAt: new Date().toISOString(),
    dataId: id,
    data: { id, title: `from the server ${id}` },
    hlc: formatHlc({ wall: Date.now(), counter }, 'srv'),
  };
}

/** A member's replica, synced, over an engine with rules and two events of `todos`. */
async function memberReplica() {
  const { engine, store } = await makeEngine({
    authenticator: staticTokens(TOKENS),
    rules: Rules.compile(MEMBERS, 'test rules'),
    limits: { pingIntervalMs: 0 },
  });
  await store.append('todos', [serverEvent('a', 0), serverEvent('b', 1)]);
  let holdPushes = false;
  // While held, every push is answered `rate_limited`: the change stays pending, unacknowledged.
  const transport = new LocalTransport(engine, {
    intercept: (message) =>
      holdPushes && message.type === 'push_events_batch'
        ? {
            type: 'error',
            code: 'rate_limited',
            message: 'later',
            requestType: message.type,
            requestId: message.requestId,
            retryAfterMs: 20,
          }
        : undefined,
  });
  const replica = await makeReplica(engine, { transport });
  const activity: SyncActivity[] = [];
  replica.strategy.activityChanges.subscribe((item) => activity.push(item));
  const rejections: Rejection[] = [];
  replica.client.rejections.subscribe((rejection) => rejections.push(rejection));
  await replica.client.start();
  expect(await replica.strategy.whenSynced(5_000)).toBe(true);
  const hold = (on: boolean) => {
    holdPushes = on;
  };
  return { engine, store, transport, replica, activity, rejections, hold };
}

/** The ids of `todos` records, tombstones included. */
const ids = async (replica: Awaited<ReturnType<typeof makeReplica>>) =>
  (await replica.todos.query().includeDeleted().get()).map((item) => item.id);
/** The ids of `todos` records that read as present. */
const present = async (replica: Awaited<ReturnType<typeof makeReplica>>) =>
  (await replica.todos.query().get()).map((item) => item.id);

describe('access revoked by the server', () => {
  it('drops the local copy and cursor, reports pending changes as forbidden, and rebuilds when access is back', async () => {
    const { engine, store, transport, replica, activity, rejections, hold } = await memberReplica();
    const { client, strategy, todos } = replica;
    expect(await ids(replica)).toEqual(['a', 'b']);
    hold(true);
    const held = await todos.upsert({ id: 'mine', title: 'not acknowledged yet' });
    await seen(strategy.activityChanges, (item) => item.type === 'server_error', 'a held push');
    expect((await todos.getPendingEvents()).map((event) => event.eventId)).toEqual([held!.eventId]);

    const revoked = seen(client.accessRevocations, () => true, 'the revocation');
    const told = seen(
      strategy.activityChanges,
      (item) => item.type === 'access_revoked',
      "the strategy's access_revoked activity",
    );
    strategy.updateAuthToken('token-alice-left');
    const [revocation, activityOfIt]: [AccessRevocation, SyncActivity] = await Promise.all([
      revoked,
      told,
    ]);
    expect(activityOfIt).toEqual({ type: 'access_revoked', ...revocation });

    expect(revocation).toMatchObject({ repository: 'todos', strategy: 'websocket' });
    expect(rejections).toEqual([
      expect.objectContaining({
        eventId: held!.eventId,
        code: 'forbidden',
        source: 'server',
        repository: 'todos',
        dataId: 'mine',
      }),
    ]);
    expect(revocation.rejected).toEqual(rejections);
    expect(activity.filter((item) => item.type === 'access_revoked')).toHaveLength(1);
    expect(await ids(replica)).toEqual([]);
    expect(await client.storage.getEvents({ repository: 'todos' })).toEqual([]);
    expect(await client.storage.getMeta(cursorKeyOf('todos'))).toBeUndefined();
    // A revoked repository counts as settled: nothing of it is waited for.
    expect(await strategy.whenSynced(5_000)).toBe(true);

    // Written after: pushed as usual, and the server's verdict rolls it back.
    hold(false);
    const asked = transport.sentOf('request_events').length;
    const after = await todos.upsert({ id: 'after', title: 'no longer allowed' });
    const verdict = await seen(
      client.rejections,
      (rejection) => rejection.eventId === after!.eventId,
      'the verdict on a write after the revocation',
    );
    expect(verdict).toMatchObject({ code: 'forbidden', source: 'server' });
    expect(await todos.getById('after')).toBeUndefined();
    // The dropped change never left, and the repository was not asked for again meanwhile.
    const onServer = (await store.readAfter('todos', 0, 100)).events.map((event) => event.eventId);
    expect(onServer).toEqual(['srv-a', 'srv-b']);
    expect(transport.sentOf('request_events').length).toBe(asked);

    // Access back on the same socket: a catch-up from the start rebuilds the repository.
    strategy.updateAuthToken('token-alice');
    await seen(
      strategy.activityChanges,
      (item) => item.type === 'sync_complete' && item.repository === 'todos',
      'the catch-up after access came back',
    );
    expect(await present(replica)).toEqual(['a', 'b']);
    const position = parsePosition(await client.storage.getMeta(cursorKeyOf('todos')));
    expect(position.sequence).toBe(2);
    expect(transport.sentOf('request_events').at(-1)).toMatchObject({ afterSequence: 0 });
    await client.dispose();
    await engine.close();
  });

  it('after new rules take it away, a new connection catches up from the start once they give it back', async () => {
    const { engine, transport, replica } = await memberReplica();
    const { client, strategy } = replica;
    const revoked = seen(client.accessRevocations, () => true, 'the revocation');
    engine.setRules(Rules.compile({ repositories: [] }, 'nobody reads todos'));
    expect((await revoked).rejected).toEqual([]);
    expect(await ids(replica)).toEqual([]);

    engine.setRules(Rules.compile(MEMBERS, 'members again'));
    await client.stop();
    await client.start();
    expect(await strategy.whenSynced(5_000)).toBe(true);
    expect(await ids(replica)).toEqual(['a', 'b']);
    expect(transport.sentOf('request_events').at(-1)).toMatchObject({
      repository: 'todos',
      afterSequence: 0,
    });
    await client.dispose();
    await engine.close();
  });
});

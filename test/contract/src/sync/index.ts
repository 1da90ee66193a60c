import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefreshed, pushAgain, refreshMark, wireEvent } from './checks.js';
import {
  closeDevice,
  connect,
  converged,
  type Device,
  drained,
  openDevice,
  SYNC_TEST_TIMEOUT_MS,
  type SyncSetup,
  snapshot,
  until,
} from './harness.js';

export { drained, SYNC_TEST_TIMEOUT_MS, SYNC_WAIT_MS, until } from './harness.js';
export type {
  RefreshableStrategy,
  RestSyncSetup,
  SyncFetch,
  SyncSetup,
  SyncSetupBase,
  WebSocketSyncSetup,
} from './setup.js';
export {
  CountingFetch,
  CountingTransport,
  type RequestRecord,
  type SentMessage,
  type WireCounter,
} from './wire.js';

/**
 * The end-to-end sync suite: devices with their own storage sync through a real server with
 * the strategy under test. `setup` runs once for the describe block (servers are costly); each
 * scenario uses its own repository, so scenarios never see each other's data. The setup says
 * its wire: a WebSocket strategy over a transport (the default), or a REST strategy through a
 * `fetch` (`wire: 'rest'`); the suite counts what each device puts on it.
 */
export function describeSync(name: string, setup: () => Promise<SyncSetup>): void {
  describe(`sync: ${name}`, { timeout: SYNC_TEST_TIMEOUT_MS }, () => {
    let harness: SyncSetup;
    const open: Device[] = [];
    const device = async (
      ...args: Parameters<typeof openDevice> extends [unknown, ...infer Rest] ? Rest : never
    ) => {
      const opened = await openDevice(harness, ...args);
      open.push(opened);
      return opened;
    };

    beforeAll(async () => {
      harness = await setup();
    }, SYNC_TEST_TIMEOUT_MS);
    afterAll(async () => {
      for (const opened of open) await opened.client.dispose().catch(() => undefined);
      await harness?.teardown();
    }, SYNC_TEST_TIMEOUT_MS);

    it('two clients converge on inserts, updates and deletes', async () => {
      const a = await device('converge-a', { repository: 'converge' });
      const b = await device('converge-b', { repository: 'converge', token: harness.tokens[1] });
      await a.items.upsert({ id: '1', title: 'milk' });
      await a.items.upsert({ id: '2', title: 'eggs' });
      await a.items.upsert({ id: '3', title: 'bread' });
      await converged(b, ['1:milk', '2:eggs', '3:bread']);
      await b.items.upsert({ id: '1', title: 'oat milk' });
      await b.items.delete('2');
      const expected = ['1:oat milk', '2:deleted', '3:bread'];
      await converged(a, expected);
      await converged(b, expected);
    });

    it('writes made offline sync on reconnect, deletes included', async () => {
      const a = await device('offline-a', { repository: 'offline' });
      const b = await device('offline-b', { repository: 'offline', token: harness.tokens[1] });
      await a.items.upsert({ id: 'kept', title: 'online' });
      await a.items.upsert({ id: 'gone', title: 'online' });
      await converged(b, ['gone:online', 'kept:online']);
      await drained(a);
      await a.client.stop();
      await a.items.upsert({ id: 'kept', title: 'edited offline' });
      await a.items.delete('gone');
      await a.items.upsert({ id: 'new', title: 'added offline' });
      expect((await a.client.getPendingEvents()).map((event) => event.operation)).toEqual([
        1, 2, 0,
      ]);
      await connect(a);
      await converged(b, ['gone:deleted', 'kept:edited offline', 'new:added offline']);
      await drained(a);
    });

    it('a client restarted from its own storage re-sends what was pending', async () => {
      const writer = await device('restart-a', { repository: 'restart', start: false });
      await writer.items.upsert({ id: 'x', title: 'before restart' });
      await writer.items.upsert({ id: 'y', title: 'before restart' });
      await writer.items.delete('y');
      const persistent = writer.client.storage.capabilities.persistent;
      // A persistent adapter is closed and opened again; a memory one lives on in the process.
      if (persistent) await writer.client.dispose();
      else await writer.client.stop();
      const restarted = await device('restart-a', { repository: 'restart', start: false });
      expect((await restarted.client.getPendingEvents()).map((event) => event.operation)).toEqual([
        0, 0, 2,
      ]);
      await connect(restarted);
      const reader = await device('restart-b', { repository: 'restart', token: harness.tokens[1] });
      await converged(reader, ['x:before restart', 'y:deleted']);
      await drained(restarted);
    });

    it('a server restart in the middle of a stream loses nothing', async (context) => {
      if (!harness.durableServer)
        context.skip('the server store does not survive a restart by design');
      const a = await device('server-restart-a', { repository: 'server-restart' });
      const b = await device('server-restart-b', {
        repository: 'server-restart',
        token: harness.tokens[1],
      });
      const expected: string[] = [];
      for (let i = 0; i < 60; i++) {
        const id = `r${String(i).padStart(2, '0')}`;
        expected.push(`${id}:v${i}`);
        await a.items.upsert({ id, title: `v${i}` });
        if (i === 20) await harness.restartServer();
      }
      await drained(a);
      await converged(b, expected);
      await converged(a, expected);
    });

    it('a duplicate delivery changes nothing', async () => {
      const a = await device('duplicate-a', { repository: 'duplicate' });
      const b = await device('duplicate-b', { repository: 'duplicate', token: harness.tokens[1] });
      const event = await a.items.upsert({ id: 'd', title: 'once' });
      await drained(a);
      await converged(b, ['d:once']);
      // The same event pushed again on a connection (or request) of its own, as a retry after a
      // lost ack would.
      expect(await pushAgain(harness, 'duplicate', event)).toEqual([event.eventId]);
      // The same events delivered to a client twice change nothing either.
      const stored = await b.client.storage.getEvents({ repository: 'duplicate' });
      const again = await b.client.applyRemoteEvents('duplicate', stored.map(wireEvent));
      expect(again.applied).toEqual([]);
      expect(snapshot(await b.items.query().includeDeleted().get())).toEqual(['d:once']);
      expect((await b.client.storage.getEvents({ repository: 'duplicate' })).length).toBe(1);
    });

    it('a client that joins late catches up over more than one page', async () => {
      const a = await device('late-a', { repository: 'late' });
      const count = harness.maxPageEvents * 2 + 5;
      const expected: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `l${String(i).padStart(4, '0')}`;
        expected.push(`${id}:n${i}`);
        await a.items.upsert({ id, title: `n${i}` });
      }
      await drained(a);
      const late = await device('late-c', { repository: 'late', token: harness.tokens[1] });
      await converged(late, expected);
      expect(late.wire.pagesReceived).toBeGreaterThanOrEqual(3);
    });

    it('a token refresh mid-session keeps syncing without reconnecting', async () => {
      const a = await device('refresh-a', { repository: 'refresh' });
      const b = await device('refresh-b', { repository: 'refresh', token: harness.tokens[1] });
      await a.items.upsert({ id: 'before', title: 'old token' });
      await converged(b, ['before:old token']);
      a.strategy.updateAuthToken(harness.tokens[1]);
      const mark = refreshMark(a);
      await a.items.upsert({ id: 'after', title: 'new token' });
      await converged(b, ['after:new token', 'before:old token']);
      await drained(a);
      // WebSocket: the same connection, authenticated again; REST: the new token from then on.
      expectRefreshed(a, mark, harness.tokens[1]);
      expect(a.strategy.connectionState).toBe('connected');
      await until(a.strategy.stateChanges, (state) => state === 'connected');
      await closeDevice(a);
    });
  });
}

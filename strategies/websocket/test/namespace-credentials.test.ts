import { describe, expect, it } from 'vitest';
import type { AuthFailure, WebSocketSyncStrategyOptions } from '../src/index.js';
import {
  makeRecordingEngine,
  makeReplica,
  type RecordingEngine,
  seen,
} from './strategy-fixtures.js';

// One client, one namespace per signed-in account: each namespace's changes leave only with
// that account's credentials, whatever order the app gives namespaces and tokens in.

async function accounts(options: Omit<Partial<WebSocketSyncStrategyOptions>, 'transport'> = {}) {
  const { engine } = await makeRecordingEngine({ limits: { pingIntervalMs: 0 } });
  const replica = await makeReplica(engine, options);
  return { engine, ...replica };
}

type Accounts = Awaited<ReturnType<typeof accounts>>;

const connected = (replica: Accounts, what: string) =>
  seen(replica.strategy.stateChanges, (state) => state === 'connected', what);

/** A replica started and connected in the default namespace with alice's token. */
async function online() {
  const replica = await accounts();
  await replica.client.start();
  await connected(replica, 'the first connection');
  return replica;
}

/** The next `credentials_missing` the strategy reports. */
const missingCredentials = (replica: Accounts) =>
  seen(
    replica.strategy.activityChanges,
    (activity) => activity.type === 'credentials_missing',
    'credentials_missing',
  );

/** The token of the last `auth` the client sent. */
const lastToken = (replica: Accounts) => replica.transport.sentOf('auth').at(-1)?.token;

/** Writes one change and waits until the server has it; returns its event id. */
async function pushed(replica: Accounts, id: string): Promise<string> {
  const event = await replica.todos.upsert({ id, title: `written as ${id}` });
  expect(await replica.strategy.whenSynced(5_000)).toBe(true);
  return event!.eventId;
}

/** Every event id the engine received, with the users it arrived as. */
function usersOf(engine: RecordingEngine, eventIds: Record<string, string>) {
  const users = engine.usersByEvent();
  return Object.fromEntries(
    Object.entries(eventIds).map(([name, eventId]) => [name, [...(users.get(eventId) ?? [])]]),
  );
}

/** Checks that alice's and bob's changes arrived as alice and bob, then shuts everything. */
async function endAsTheirOwn(replica: Accounts, ids: { alices: string; bobs: string }) {
  expect(usersOf(replica.engine, ids)).toEqual({ alices: ['alice'], bobs: ['bob'] });
  await replica.client.dispose();
  await replica.engine.close();
}

describe('credentials bound to namespaces', () => {
  it('does not connect in a namespace without credentials, says so, and connects once given', async () => {
    const replica = await online();
    const { client, strategy, transport } = replica;
    const alices = await pushed(replica, 'alice-1');
    const missing = missingCredentials(replica);
    await client.useNamespace('bob');
    expect(await missing).toEqual({ type: 'credentials_missing', namespace: 'bob' });
    expect(strategy.connectionState).toBe('failed');
    const bobs = (await replica.todos.upsert({ id: 'bob-1', title: 'waits for bob' }))!.eventId;
    expect(transport.opened).toBe(1);

    strategy.updateAuthToken('token-bob', { namespace: 'bob' });
    await connected(replica, 'the connection with bob’s token');
    expect(await strategy.whenSynced(5_000)).toBe(true);
    expect(lastToken(replica)).toBe('token-bob');
    await endAsTheirOwn(replica, { alices, bobs });
  });

  it('leaves the open connection alone when another namespace gets credentials', async () => {
    const replica = await online();
    const { client, strategy, transport } = replica;
    strategy.updateCredentials({ authToken: 'token-bob' }, { namespace: 'bob' });
    expect(transport.sentOf('auth')).toHaveLength(1);
    const alices = await pushed(replica, 'alice-1');
    await client.useNamespace('bob');
    const bobs = await pushed(replica, 'bob-1');
    expect(lastToken(replica)).toBe('token-bob');
    await client.useNamespace('default');
    await connected(replica, 'alice again');
    expect(lastToken(replica)).toBe('token-alice');
    await endAsTheirOwn(replica, { alices, bobs });
  });

  it('binds a token given during a switch to the namespace switched to', async () => {
    const replica = await online();
    const { client, strategy } = replica;
    const switching = client.useNamespace('bob');
    strategy.updateAuthToken('token-bob');
    await switching;
    const bobs = await pushed(replica, 'bob-1');
    expect(lastToken(replica)).toBe('token-bob');
    await client.useNamespace('default', { credentials: { authToken: 'token-alice' } });
    const alices = await pushed(replica, 'alice-1');
    expect(lastToken(replica)).toBe('token-alice');
    await endAsTheirOwn(replica, { alices, bobs });
  });

  it('gives the options’ token to the namespace the strategy first starts in, or the one named', async () => {
    const first = await accounts();
    await first.client.useNamespace('account:alice');
    await first.client.start();
    await connected(first, 'the connection in the first namespace');
    const missing = missingCredentials(first);
    await first.client.useNamespace('default');
    expect(await missing).toMatchObject({ namespace: 'default' });
    await first.client.dispose();
    await first.engine.close();

    const named = await accounts({ namespace: 'account:alice' });
    await named.client.start();
    expect(named.strategy.connectionState).toBe('failed');
    expect(named.transport.opened).toBe(0);
    await named.client.useNamespace('account:alice');
    await connected(named, 'the connection in the named namespace');
    expect(lastToken(named)).toBe('token-alice');
    await named.client.dispose();
    await named.engine.close();
  });

  it('tells onAuthFailed the namespace, and keeps the new credentials to it', async () => {
    const failures: AuthFailure[] = [];
    const replica = await accounts({
      authToken: 'token-expired',
      onAuthFailed: (failure) => {
        failures.push(failure);
        return { authToken: 'token-alice' };
      },
    });
    await replica.client.start();
    await connected(replica, 'the connection after new credentials');
    expect(failures).toEqual([expect.objectContaining({ namespace: 'default' })]);
    const missing = missingCredentials(replica);
    await replica.client.useNamespace('bob');
    expect(await missing).toMatchObject({ namespace: 'bob' });
    await replica.client.dispose();
    await replica.engine.close();
  });
});

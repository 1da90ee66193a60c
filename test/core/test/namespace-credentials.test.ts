import { describe, expect, it } from 'vitest';
import { makeClient, RecordingStrategy, todo } from './fixtures.js';

/** A client with one recording strategy, started in the default namespace. */
async function started() {
  const strategy = new RecordingStrategy();
  const { client, todos } = await makeClient({ syncStrategies: [strategy] });
  await client.start();
  return { strategy, client, todos };
}

describe('namespaces and the credentials of their accounts', () => {
  it('hands the credentials given with a switch to each strategy before it starts there', async () => {
    const { strategy, client } = await started();
    await client.useNamespace('bob', { credentials: { authToken: 'token-bob' } });
    expect(strategy.calls).toEqual([
      'start in default',
      'stop',
      'credentials token-bob for bob',
      'start in bob',
    ]);
    expect(client.namespace).toBe('bob');
    await client.dispose();
  });

  it('hands credentials over for the namespace in use without stopping anything', async () => {
    const { strategy, client } = await started();
    await client.useNamespace('default', { credentials: { authToken: 'refreshed' } });
    expect(strategy.calls).toEqual(['start in default', 'credentials refreshed for default']);
    await client.dispose();
  });

  it('stops strategies the moment a switch is asked for and starts them only in the last one', async () => {
    const { strategy, client } = await started();
    const toBob = client.useNamespace('bob', { credentials: { authToken: 'token-bob' } });
    expect(strategy.connectionState).toBe('stopped');
    // Credentials given now belong to the namespace asked for, not the one being left.
    expect(strategy.host!.namespace).toBe('bob');
    const toCarol = client.useNamespace('carol', { credentials: { authToken: 'token-carol' } });
    expect(strategy.host!.namespace).toBe('carol');
    await Promise.all([toBob, toCarol]);
    expect(strategy.calls).toEqual([
      'start in default',
      'stop',
      'credentials token-bob for bob',
      'credentials token-carol for carol',
      'start in carol',
    ]);
    expect(client.namespace).toBe('carol');
    await client.dispose();
  });

  it('lets start() during a switch wait for it, so strategies start in the new namespace', async () => {
    const strategy = new RecordingStrategy();
    const { client } = await makeClient({ syncStrategies: [strategy] });
    const seen: string[] = [];
    strategy.stateChanges.subscribe((state) => {
      if (state === 'connected') seen.push(client.namespace);
    });
    const switching = client.useNamespace('bob');
    const starting = client.start();
    await Promise.all([switching, starting]);
    expect(seen).toEqual(['bob']);
    await client.stop();
    // stop() during a switch keeps the strategies stopped after it.
    const back = client.useNamespace('default');
    await Promise.all([client.start(), client.stop(), back]);
    expect(strategy.connectionState).toBe('stopped');
    await client.dispose();
  });

  it('starts strategies once, in the last namespace, when start() comes between two switches', async () => {
    const strategy = new RecordingStrategy();
    const { client } = await makeClient({ syncStrategies: [strategy] });
    const storageAtStart: string[] = [];
    strategy.stateChanges.subscribe((state) => {
      if (state === 'connected') storageAtStart.push(client.namespace);
    });
    const toBob = client.useNamespace('bob');
    const starting = client.start();
    const toCarol = client.useNamespace('carol');
    await Promise.all([toBob, starting, toCarol]);
    expect(strategy.calls).toEqual(['start in carol']);
    expect(storageAtStart).toEqual(['carol']);
    expect(client.namespace).toBe('carol');
    await client.dispose();
  });

  it('hands each change to the strategies with the namespace it was stored in', async () => {
    const strategy = new RecordingStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy] });
    await todos.upsert(todo('a'));
    await client.useNamespace('bob');
    await todos.upsert(todo('b'));
    expect(strategy.pushedIn).toEqual(['default', 'bob']);
    await client.dispose();
  });

  it('keeps each namespace’s cursors and pending changes to itself', async () => {
    const strategy = new RecordingStrategy();
    const { client, todos } = await makeClient({ syncStrategies: [strategy] });
    const host = strategy.host!;
    const alicesWrite = await todos.upsert(todo('alice-1'));
    await host.markSynced([], { key: 'cursor:todos', value: '7' });
    await client.useNamespace('bob');
    expect(await host.getMeta('cursor:todos')).toBeUndefined();
    expect(await host.getPendingEvents()).toEqual([]);
    await host.markSynced([], { key: 'cursor:todos', value: '3' });
    await client.useNamespace('default');
    expect(await host.getMeta('cursor:todos')).toBe('7');
    expect((await host.getPendingEvents()).map((event) => event.eventId)).toEqual([
      alicesWrite!.eventId,
    ]);
    await client.useNamespace('bob');
    expect(await host.getMeta('cursor:todos')).toBe('3');
    await client.dispose();
  });
});

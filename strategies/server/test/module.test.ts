import { createLocalFirstContainer, TOKENS } from '@local-first/core';
import {
  createLocalConnectionPair,
  type IncomingConnectionInfo,
  type TransportConnection,
  type TransportServer,
} from '@local-first/core/adapter';
import { MemoryEventStore, memoryEventStoreModule } from '@local-first/store-memory';
import { describe, expect, it } from 'vitest';
import { SERVER_TOKENS, SyncEngine, staticTokens, syncEngineModule } from '../src/engine/index.js';
import { ServerMetrics } from '../src/metrics.js';
import { Rules } from '../src/rules/rules.js';
import { event, TOKENS_FIXTURE } from './engine-fixtures.js';

/** The server half of an in-process transport: hands each connection made with `connect()` on. */
class InProcessTransportServer implements TransportServer {
  readonly name = 'in-process';
  private handler:
    | ((connection: TransportConnection, info: IncomingConnectionInfo) => void)
    | undefined;
  onConnection(handler: (connection: TransportConnection, info: IncomingConnectionInfo) => void) {
    this.handler = handler;
    return () => {
      this.handler = undefined;
    };
  }
  connect(): TransportConnection {
    const { client, server } = createLocalConnectionPair();
    if (!this.handler) throw new Error('no engine attached');
    this.handler(server, { headers: {}, remoteAddress: '127.0.0.1', transport: 'in-process' });
    return client;
  }
  async close(): Promise<void> {}
}

describe('syncEngineModule', () => {
  it('builds one engine from the container: store, authenticator, observer, and attaches its transports', async () => {
    const transport = new InProcessTransportServer();
    const metrics = new ServerMetrics({ processMetrics: false });
    const container = createLocalFirstContainer(
      memoryEventStoreModule(),
      syncEngineModule({ limits: { maxBatchEvents: 7 } }),
    );
    container.bind(SERVER_TOKENS.Authenticator).toConstantValue(staticTokens(TOKENS_FIXTURE));
    container.bind(SERVER_TOKENS.EngineObserver).toConstantValue(metrics);
    container.bind(TOKENS.TransportServer).toConstantValue(transport);

    const engine = container.get<SyncEngine>(SERVER_TOKENS.SyncEngine);
    expect(engine).toBeInstanceOf(SyncEngine);
    expect(container.get(SERVER_TOKENS.SyncEngine)).toBe(engine);
    expect(engine.store).toBeInstanceOf(MemoryEventStore);
    expect(engine.limits.maxBatchEvents).toBe(7);
    await engine.store.open();

    const client = transport.connect();
    const received: { type: string }[] = [];
    const acked = new Promise<void>((resolve) =>
      client.onMessage((message) => {
        received.push(message as { type: string });
        if ((message as { type: string }).type === 'ack') resolve();
      }),
    );
    client.send({ type: 'auth', token: 'token-alice' });
    client.send({ type: 'push_event', repository: 'todos', event: event('via-di') });
    await acked;
    expect(received.map((message) => message.type)).toEqual(['auth_success', 'ack']);
    expect(await metrics.registry.metrics()).toContain('local_first_events_appended_total 1');
    await engine.close();
    await engine.store.close();
  });

  it('needs an authenticator: the container says which binding is missing', () => {
    const container = createLocalFirstContainer(memoryEventStoreModule(), syncEngineModule());
    expect(() => container.get(SERVER_TOKENS.SyncEngine)).toThrow(/Authenticator/);
  });

  it('takes rules from the container', async () => {
    const container = createLocalFirstContainer(memoryEventStoreModule(), syncEngineModule());
    container.bind(SERVER_TOKENS.Authenticator).toConstantValue(staticTokens(TOKENS_FIXTURE));
    container
      .bind(SERVER_TOKENS.Rules)
      .toConstantValue(
        Rules.compile({ repositories: [{ repository: 'todos', private: true }] }, 'di'),
      );
    const engine = container.get<SyncEngine>(SERVER_TOKENS.SyncEngine);
    expect(engine.accessPolicy.kind).toBe('rules');
    expect(await engine.access({ userId: 'alice' }, 'todos')).toEqual({
      stored: '~alice/todos',
      read: true,
      write: true,
    });
    expect(await engine.access({ userId: 'alice' }, 'notes')).toMatchObject({ read: false });
    await engine.close();
  });
});

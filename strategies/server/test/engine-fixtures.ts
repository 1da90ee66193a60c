import type { SyncEvent } from '@local-first/core';
import {
  type CloseInfo,
  createLocalConnectionPair,
  type LocalConnection,
} from '@local-first/core/adapter';
import { MemoryEventStore } from '@local-first/store-memory';
import { SyncEngine, type SyncEngineOptions, staticTokens } from '../src/engine/index.js';

export const TOKENS_FIXTURE = { 'token-alice': 'alice', 'token-bob': 'bob' };

export async function makeEngine(options: Partial<SyncEngineOptions> = {}) {
  const store = new MemoryEventStore({ now: () => new Date('2025-01-23T10:00:00.000Z') });
  await store.open();
  const engine = new SyncEngine({ store, authenticator: staticTokens(TOKENS_FIXTURE), ...options });
  return { engine, store };
}

export type Message = { type: string } & Record<string, unknown>;

/** How long `next` waits before it fails, naming what did arrive. */
const NEXT_TIMEOUT_MS = 5_000;
// Taken at import, before a test installs fake timers: the guard runs on real time.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** A client end attached to the engine, with helpers that await protocol messages. */
export function connect(engine: SyncEngine, headers: Record<string, string> = {}) {
  const { client, server } = createLocalConnectionPair();
  const inbox: Message[] = [];
  /** Every message received, taken or not, for the report of a wait that fails. */
  const history: Message[] = [];
  const waiters: { matches: (message: Message) => boolean; resolve: (message: Message) => void }[] =
    [];
  let closeInfo: CloseInfo | undefined;
  const closed = new Promise<CloseInfo>((resolve) =>
    client.onClose((info) => {
      closeInfo = info;
      resolve(info);
    }),
  );
  client.onMessage((raw) => {
    const message = raw as Message;
    history.push(message);
    const waiter = waiters.find((candidate) => candidate.matches(message));
    if (waiter) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    } else {
      inbox.push(message);
    }
  });
  engine.accept(server, { headers, remoteAddress: '127.0.0.1', transport: 'local' });
  return {
    connection: client as LocalConnection,
    send: (message: object) => client.send(message),
    /** The next message of this type (already received or to come). */
    next<T extends Message = Message>(type: string): Promise<T> {
      return this.nextWhere<T>((message) => message.type === type, `"${type}" message`);
    },
    /** The next message that matches (already received or to come). */
    nextWhere<T extends Message = Message>(
      matches: (message: Message) => boolean,
      what: string,
    ): Promise<T> {
      const index = inbox.findIndex(matches);
      if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0] as T);
      return new Promise((resolve, reject) => {
        const waiter = {
          matches,
          resolve: (message: Message) => {
            realClearTimeout(guard);
            resolve(message as T);
          },
        };
        const guard = realSetTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          const seen = history.slice(-10).map((message) => JSON.stringify(message));
          reject(
            new Error(
              `no ${what} within ${NEXT_TIMEOUT_MS} ms; the last ones received: ${seen.join(', ') || 'none'}${closeInfo ? `; closed with ${closeInfo.code}` : ''}`,
            ),
          );
        }, NEXT_TIMEOUT_MS);
        waiters.push(waiter);
      });
    },
    /** Messages received and not yet taken by `next`. */
    inbox,
    closed,
    get closeInfo() {
      return closeInfo;
    },
  };
}

export type TestClient = ReturnType<typeof connect>;

export async function authenticated(
  engine: SyncEngine,
  token = 'token-alice',
): Promise<TestClient> {
  const client = connect(engine);
  client.send({ type: 'auth', token });
  await client.next('auth_success');
  return client;
}

export function event(id: string, overrides: Partial<SyncEvent> = {}): SyncEvent {
  return {
    eventId: id,
    operation: 0,
    createdAt: '2025-01-23T09:00:00.000Z',
    dataId: `record-${id}`,
    data: { id: `record-${id}`, title: `title ${id}` },
    ...overrides,
  };
}

let settles = 0;

/**
 * Sends a request that goes through the connection's queue and waits for its answer: every
 * message sent before it has been handled. (A `ping` would not do: it is answered at once.)
 */
export async function settle(client: TestClient): Promise<void> {
  const requestId = `settle-${++settles}`;
  client.send({ type: 'request_events', repository: '__settle__', requestId });
  await client.nextWhere(
    (message) => message.requestId === requestId,
    `answer to request ${requestId}`,
  );
}

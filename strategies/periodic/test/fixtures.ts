import {
  LocalFirstClient,
  type RecordData,
  Repository,
  type StorageAdapter,
  type Subscribable,
  type SyncActivity,
  silentLogger,
} from '@local-first/core';
import {
  type AuthenticatedUser,
  AuthenticationError,
  type Authenticator,
  SyncEngine,
  type SyncEngineOptions,
  staticTokens,
} from '@local-first/server';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { MemoryEventStore } from '@local-first/store-memory';
import { PeriodicSyncStrategy, type PeriodicSyncStrategyOptions } from '../src/index.js';
import { RestDouble } from './rest-double.js';

export const TOKENS_FIXTURE = { 'token-alice': 'alice', 'token-bob': 'bob' };
export const BASE_URL = 'http://sync.test';

export interface Todo extends RecordData {
  id: string;
  title: string;
}

/** An authenticator that takes one token, for alice, and which one can change at any moment. */
export class OneValidToken implements Authenticator {
  readonly kind = 'tokens';
  constructor(public valid: string) {}

  async authenticate({ token }: { token?: string }): Promise<AuthenticatedUser> {
    if (token !== this.valid)
      throw new AuthenticationError('invalid_token', 'token not recognised');
    return { userId: 'alice' };
  }
}

/** An engine over a memory store whose clock is the (possibly fake) system clock. */
export async function makeEngine(options: Partial<SyncEngineOptions> = {}) {
  const store = new MemoryEventStore({ now: () => new Date() });
  await store.open();
  const engine = new SyncEngine({
    store,
    authenticator: staticTokens(TOKENS_FIXTURE),
    ...options,
    limits: { pingIntervalMs: 0, ...options.limits },
  });
  return { engine, store, rest: new RestDouble(engine) };
}

/** A client with a `todos` repository, synced by a periodic strategy through `rest`. */
export async function makeReplica(
  rest: RestDouble,
  options: Partial<PeriodicSyncStrategyOptions> = {},
  storage: StorageAdapter = new MemoryStorageAdapter(),
) {
  const strategy = new PeriodicSyncStrategy({
    baseUrl: BASE_URL,
    fetch: rest.fetch,
    authToken: 'token-alice',
    retryDelay: 10,
    maxRetryDelay: 100,
    ...options,
  });
  const todos = new Repository<Todo>({ name: 'todos' });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: storage,
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  const activities = record(strategy.activityChanges);
  return { client, todos, strategy, storage, activities };
}

/** Every value a subscribable gives, from now on. */
export function record<T>(source: Subscribable<T>): T[] {
  const values: T[] = [];
  source.subscribe((value) => values.push(value));
  return values;
}

/**
 * Resolves with the first value that passes `test` (the current one included); fails after
 * `timeoutMs` with the last values it saw.
 */
export function until<T>(
  source: Subscribable<T>,
  test: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const seen: T[] = [];
    let unsubscribe: (() => void) | undefined;
    let done = false;
    const timer = setTimeout(() => {
      unsubscribe?.();
      reject(
        new Error(
          `nothing matched within ${timeoutMs} ms; last seen: ${JSON.stringify(seen.slice(-5))}`,
        ),
      );
    }, timeoutMs);
    unsubscribe = source.subscribe((value) => {
      if (done) return;
      seen.push(value);
      if (!test(value)) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe?.());
      resolve(value);
    });
    if (done) unsubscribe();
  });
}

/** The kinds of activity seen, in order, for assertions that read like a log. */
export function kinds(activities: readonly SyncActivity[]): string[] {
  return activities.map((activity) => activity.type);
}

export function titles(items: readonly { id: string; title?: unknown }[]): string[] {
  return items.map((item) => `${item.id}:${String(item.title)}`);
}

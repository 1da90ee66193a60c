import { SYNC_WAIT_MS, until } from '@local-first/contract';
import {
  LocalFirstClient,
  type RecordData,
  Repository,
  type Stored,
  type SyncStrategy,
  silentLogger,
} from '@local-first/core';
import { MemoryStorageAdapter } from '@local-first/storage-memory';

// Devices for the two sync tests: a client with a `todos` repository over memory storage and
// one strategy, and waits that fail with what the device held and how its sync stood.

export interface Todo extends RecordData {
  id: string;
  title: string;
}

/** A strategy with `whenSynced`, as every strategy built on `SyncStrategyBase` has. */
export type AwaitableStrategy = SyncStrategy & { whenSynced(timeoutMs: number): Promise<boolean> };

export interface Device<S extends AwaitableStrategy> {
  name: string;
  client: LocalFirstClient;
  todos: Repository<Todo>;
  strategy: S;
}

export async function openDevice<S extends AwaitableStrategy>(
  name: string,
  strategy: S,
): Promise<Device<S>> {
  const todos = new Repository<Todo>({ name: 'todos' });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  return { name, client, todos, strategy };
}

/** The records as `id:title`, sorted by id, tombstones as `id:deleted`. */
export function snapshot(items: readonly Stored<Todo>[]): string[] {
  return items.map((item) => (item._deleted ? `${item.id}:deleted` : `${item.id}:${item.title}`));
}

function state(device: Device<AwaitableStrategy>): string {
  return `${device.name}'s strategy is ${device.strategy.connectionState}`;
}

/** Waits until the device holds exactly `expected`; fails after `SYNC_WAIT_MS` with what it held. */
export async function converged(
  device: Device<AwaitableStrategy>,
  expected: readonly string[],
): Promise<void> {
  const want = expected.join('|');
  await until(
    device.todos.query().includeDeleted().orderBy('id').watch(),
    (items) => snapshot(items).join('|') === want,
    `convergence of ${device.name} on [${expected.join(', ')}]`,
    () => state(device),
    (items) => `[${snapshot(items).join(', ')}]`,
  );
}

/** Waits for `whenSynced`; fails with the state and the pending events it was left with. */
export async function synced(device: Device<AwaitableStrategy>): Promise<void> {
  if (await device.strategy.whenSynced(SYNC_WAIT_MS)) return;
  const pending = await device.client.getPendingEvents();
  const left = pending.map((event) => `${event.dataId}/${event.operation}`).join(', ');
  throw new Error(
    `${device.name} was not synced within ${SYNC_WAIT_MS} ms: ${state(device)}; pending: [${left}]`,
  );
}

/** The operations of the device's pending events, oldest first (0 insert, 1 update, 2 delete). */
export async function pendingOperations(device: Device<AwaitableStrategy>): Promise<number[]> {
  return (await device.client.getPendingEvents()).map((event) => event.operation);
}

import {
  type ConnectionState,
  LocalFirstClient,
  Repository,
  type Stored,
  type Subscribable,
  silentLogger,
} from '@local-first/core';
import { fetchOf, type Item, type RefreshableStrategy, type SyncSetup } from './setup.js';
import { CountingFetch, CountingTransport, type WireCounter } from './wire.js';

export type { Item, RefreshableStrategy, SyncSetup } from './setup.js';
export { CountingFetch, CountingTransport, type WireCounter } from './wire.js';

/** One device: a client, its repository and strategy, over its own storage. */
export interface Device {
  name: string;
  client: LocalFirstClient;
  items: Repository<Item>;
  strategy: RefreshableStrategy;
  /** What the device's strategy put on its wire (the setup's kind of wire). */
  wire: WireCounter;
}

/** The setup's strategy for one device, over a counter of the setup's wire. */
function countedStrategy(
  setup: SyncSetup,
  token: string,
  repositories: string[],
): { strategy: RefreshableStrategy; wire: WireCounter } {
  if (setup.wire === 'rest') {
    const wire = new CountingFetch(fetchOf(setup));
    return { wire, strategy: setup.strategy({ fetch: wire.fetch, token, repositories }) };
  }
  const wire = new CountingTransport(setup.transport());
  return { wire, strategy: setup.strategy({ transport: wire, token, repositories }) };
}

export async function openDevice(
  setup: SyncSetup,
  name: string,
  options: { repository: string; token?: string; start?: boolean },
): Promise<Device> {
  const items = new Repository<Item>({ name: options.repository });
  const { strategy, wire } = countedStrategy(setup, options.token ?? setup.tokens[0], [
    options.repository,
  ]);
  const client = new LocalFirstClient({
    repositories: [items],
    localStorage: await setup.storage(name),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  const device = { name, client, items, strategy, wire };
  if (options.start ?? true) await connect(device);
  return device;
}

/** Starts a device's sync and waits until it is connected. */
export async function connect(device: Device): Promise<void> {
  await device.client.start();
  await until(
    device.strategy.stateChanges,
    (state: ConnectionState) => state === 'connected',
    `"connected" state of ${device.name}`,
    () => wireReport(device),
  );
}

/**
 * How long a wait of the suite lasts before it fails with what it saw: under the test's own
 * timeout, so a lost message reads as "device b holds …, expected …", not as a bare timeout.
 */
export const SYNC_WAIT_MS = 15_000;

/**
 * The timeout the suite gives each of its tests and its setup, whatever the runner's default
 * (vitest's is 5 s, below one wait): a test makes several waits, and the first that fails
 * reports what it saw long before this.
 */
export const SYNC_TEST_TIMEOUT_MS = 4 * SYNC_WAIT_MS;

/**
 * Resolves with the first value the source emits (now or later) that passes the test. After
 * `SYNC_WAIT_MS` it rejects naming `what` it waited for, the last value seen and `report()`.
 */
export function until<T>(
  source: Subscribable<T>,
  test: (value: T) => boolean,
  what = 'the awaited state',
  report: () => string = () => '',
  show: (value: T) => string = (value) => JSON.stringify(value),
): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let last: { value: T } | undefined;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      unsubscribe();
      const seen = last === undefined ? 'nothing' : show(last.value);
      const more = report();
      reject(
        new Error(
          `no ${what} within ${SYNC_WAIT_MS} ms; last seen: ${seen}${more ? `; ${more}` : ''}`,
        ),
      );
    }, SYNC_WAIT_MS);
    const unsubscribe = source.subscribe((value) => {
      last = { value };
      if (settled || !test(value)) return;
      settled = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe());
      resolve(value);
    });
  });
}

/** What a device's wire saw, for a failed wait's report. */
export function wireReport(device: { name: string; wire: WireCounter }): string {
  return `${device.name}: ${device.wire.report()}`;
}

/** The items of a device as `id:title`, sorted by id, tombstones as `id:deleted`. */
export function snapshot(items: readonly Stored<Item>[]): string[] {
  return items.map((item) => (item._deleted ? `${item.id}:deleted` : `${item.id}:${item.title}`));
}

/** Waits until the device's repository reads exactly `expected` (tombstones included). */
export async function converged(device: Device, expected: readonly string[]): Promise<void> {
  const want = expected.join('|');
  await until(
    device.items.query().includeDeleted().watch(),
    (items) => snapshot(items).join('|') === want,
    `convergence of ${device.name} on [${expected.join(', ')}]`,
    () => wireReport(device),
    (items) => `[${snapshot(items).join(', ')}]`,
  );
}

/**
 * Waits until the client has no pending events left; on timeout it fails with how many were
 * left and `report()` (by default, what the device's wire saw).
 */
export function drained(
  device: { name: string; client: LocalFirstClient; wire?: WireCounter },
  report: () => string = () => (device.wire ? wireReport({ ...device, wire: device.wire }) : ''),
): Promise<void> {
  const { client } = device;
  return new Promise((resolve, reject) => {
    let done = false;
    let left = -1;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      unsubscribe();
      const more = report();
      reject(
        new Error(
          `${device.name} still had ${left} pending event(s) after ${SYNC_WAIT_MS} ms${more ? `; ${more}` : ''}`,
        ),
      );
    }, SYNC_WAIT_MS);
    const check = () =>
      client.getPendingEvents().then((pending) => {
        left = pending.length;
        if (done || pending.length > 0) return;
        done = true;
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }, reject);
    const unsubscribe = client.pendingChanges.subscribe(() => void check());
    void check();
  });
}

export async function closeDevice(device: Device): Promise<void> {
  await device.client.dispose();
}

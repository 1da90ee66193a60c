import {
  type ConnectionState,
  LocalFirstClient,
  type RecordData,
  Repository,
  type StorageAdapter,
  type Stored,
  type Subscribable,
  type SyncStrategy,
  silentLogger,
  type Transport,
  type TransportConnection,
} from '@local-first/core';

/** A strategy the sync suite can drive: any `SyncStrategy` whose credentials can be replaced. */
export type RefreshableStrategy = SyncStrategy & { updateAuthToken(token: string): void };

/** What a combination under test provides to `describeSync`, once per describe block. */
export interface SyncSetup {
  /**
   * The storage of one device: the same `device` name gives the same data again after the
   * previous adapter was closed when the adapter is persistent; a non-persistent adapter is
   * handed out once per device and reused across that device's restarts.
   */
  storage(device: string): Promise<StorageAdapter>;
  /** A new client transport. */
  transport(): Transport;
  /** The URL the strategy connects to with this transport. */
  websocketUrl: string;
  /** Builds the strategy under test for one client. */
  strategy(options: {
    transport: Transport;
    token: string;
    repositories: string[];
  }): RefreshableStrategy;
  /** Two tokens the server accepts (they may name different users that can read each other's data). */
  tokens: readonly [string, string];
  /** Restarts the server over the same store (same address). */
  restartServer(): Promise<void>;
  /** False when the server's store forgets everything on restart (the restart scenario is skipped). */
  durableServer: boolean;
  /** The server's page size: the late-joiner scenario writes more than one page. */
  maxPageEvents: number;
  teardown(): Promise<void>;
}

export interface Item extends RecordData {
  id: string;
  title: string;
}

/** Counts what a client's transport opened, sent and received, to assert on the wire. */
export class CountingTransport implements Transport {
  opened = 0;
  readonly sentTypes: string[] = [];
  /** Catch-up pages received (`events` messages with `hasMore`). */
  pagesReceived = 0;

  constructor(private readonly inner: Transport) {}

  get name(): string {
    return this.inner.name;
  }

  async open(
    url: string,
    options?: Parameters<Transport['open']>[1],
  ): Promise<TransportConnection> {
    const connection = await this.inner.open(url, options);
    this.opened += 1;
    connection.onMessage((message) => {
      const { type, hasMore } = message as { type?: string; hasMore?: boolean };
      if (type === 'events' && hasMore !== undefined) this.pagesReceived += 1;
    });
    const send = connection.send.bind(connection);
    connection.send = (message: object) => {
      this.sentTypes.push((message as { type: string }).type);
      send(message);
    };
    return connection;
  }
}

/** One device: a client, its repository and strategy, over its own storage. */
export interface Device {
  name: string;
  client: LocalFirstClient;
  items: Repository<Item>;
  strategy: RefreshableStrategy;
  transport: CountingTransport;
}

export async function openDevice(
  setup: SyncSetup,
  name: string,
  options: { repository: string; token?: string; start?: boolean },
): Promise<Device> {
  const transport = new CountingTransport(setup.transport());
  const items = new Repository<Item>({ name: options.repository });
  const strategy = setup.strategy({
    transport,
    token: options.token ?? setup.tokens[0],
    repositories: [options.repository],
  });
  const client = new LocalFirstClient({
    repositories: [items],
    localStorage: await setup.storage(name),
    syncStrategies: [strategy],
    logger: silentLogger,
  });
  await client.initialize();
  const device = { name, client, items, strategy, transport };
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
export function wireReport(device: Device): string {
  const { transport } = device;
  const sent = transport.sentTypes.slice(-8).join(', ') || 'nothing';
  return `${device.name}: ${transport.opened} connection(s) opened, last sent: ${sent}`;
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

/** Waits until the device has no pending events left. */
export function drained(device: Device): Promise<void> {
  const { client } = device;
  return new Promise((resolve, reject) => {
    let done = false;
    let left = -1;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      unsubscribe();
      reject(
        new Error(
          `${device.name} still had ${left} pending event(s) after ${SYNC_WAIT_MS} ms; ${wireReport(device)}`,
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

import {
  type ConnectionState,
  LocalFirstClient,
  type LocalFirstClientOptions,
  Repository,
  type StorageAdapter,
  type StoredEvent,
  type Subscribable,
  type SyncCredentials,
  type SyncEvent,
  type SyncStrategy,
  silentLogger,
} from '@local-first/core';
import {
  formatHlc,
  StateSignal,
  type StorageTransaction,
  type SyncHost,
} from '@local-first/core/adapter';
import { MemoryStorageAdapter } from '@local-first/storage-memory';

export interface Todo {
  [key: string]: string | number | boolean | null;
  id: string;
  title: string;
  done: boolean;
  priority: number;
}

export const todo = (id: string, title = `todo ${id}`, priority = 1, done = false): Todo => ({
  id,
  title,
  done,
  priority,
});

/** The server time of `remoteTodo` events. */
export const SERVER_TIME = '2025-01-23T10:00:00.000Z';

/** An insert of a todo as a server sends it: sequence and stamp counter are `counter`. */
export function remoteTodo(eventId: string, id: string, title: string, counter: number): SyncEvent {
  return {
    eventId,
    operation: 0,
    createdAt: SERVER_TIME,
    dataId: id,
    data: todo(id, title),
    hlc: formatHlc({ wall: Date.parse(SERVER_TIME), counter }, 'other'),
    serverSequence: counter,
    serverCreatedAt: SERVER_TIME,
  };
}

/** A strategy that records what the client hands it and lets the test drive its state. */
export class RecordingStrategy implements SyncStrategy {
  readonly pushed: StoredEvent[] = [];
  /** The namespace each pushed change was stored in, as the client named it. */
  readonly pushedIn: (string | undefined)[] = [];
  /** What happened to this strategy, in order: starts, stops and credentials, with namespaces. */
  readonly calls: string[] = [];
  host: SyncHost | undefined;
  private readonly state = new StateSignal<ConnectionState>('stopped');
  readonly connectionChanges: Subscribable<boolean> = {
    subscribe: (listener) => this.state.subscribe((state) => listener(state === 'connected')),
  };

  /** `repositories`: the repositories it lists (`repositoryNames`); none: every other one. */
  constructor(
    readonly name = 'recording',
    private readonly repositories?: readonly string[],
  ) {}

  get repositoryNames(): readonly string[] | undefined {
    return this.repositories;
  }

  get connectionState(): ConnectionState {
    return this.state.value;
  }
  get stateChanges(): Subscribable<ConnectionState> {
    return this.state;
  }
  setState(state: ConnectionState): void {
    this.state.set(state);
  }
  attach(host: SyncHost): void {
    this.host = host;
  }
  async start(): Promise<void> {
    // Starting a started strategy changes nothing, as with real ones.
    if (this.state.value !== 'connected') this.calls.push(`start in ${this.host?.namespace}`);
    this.state.set('connected');
  }
  async stop(): Promise<void> {
    if (this.state.value !== 'stopped') this.calls.push('stop');
    this.state.set('stopped');
  }
  setCredentials(namespace: string, credentials: SyncCredentials): void {
    this.calls.push(`credentials ${credentials.authToken} for ${namespace}`);
  }
  async dispose(): Promise<void> {
    this.state.set('stopped');
  }
  onPushToRemote(event: StoredEvent, namespace?: string): void {
    this.pushed.push(event);
    this.pushedIn.push(namespace);
  }
  handlesRepository(name: string): boolean {
    return this.repositories === undefined || this.repositories.includes(name);
  }
}

/** A client over a fresh memory adapter, initialized, with a `todos` repository. */
export async function makeClient(options: Partial<LocalFirstClientOptions> = {}) {
  const todos = new Repository<Todo>({ name: 'todos' });
  const client = new LocalFirstClient({
    repositories: [todos],
    localStorage: new MemoryStorageAdapter(),
    logger: silentLogger,
    ...options,
  });
  await client.initialize();
  return { client, todos };
}

/** Collects the values of a subscribable and resolves when one matches. */
export function collect<T>(source: Subscribable<T>) {
  const values: T[] = [];
  const waiters: { test: (value: T) => boolean; resolve: (value: T) => void }[] = [];
  const unsubscribe = source.subscribe((value) => {
    values.push(value);
    for (const waiter of [...waiters]) {
      if (waiter.test(value)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(value);
      }
    }
  });
  return {
    values,
    unsubscribe,
    /**
     * Resolves with the first value (already seen or future) that matches; fails after
     * `timeoutMs` with how many values came and the last one.
     */
    until(test: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
      const seen = values.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          test,
          resolve: (value: T) => {
            clearTimeout(timer);
            resolve(value);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          const last = JSON.stringify(values.at(-1))?.slice(0, 500);
          reject(
            new Error(
              `no value matched within ${timeoutMs} ms: ${values.length} came, the last ${last}`,
            ),
          );
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}

const BATCH_METHODS = new Set(['getRecords', 'getEventStatuses', 'putRecords', 'appendEvents']);

/** Hides the optional batch methods of a storage view, so the client takes its fallbacks. */
function singleCallsOnly<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (typeof property === 'string' && BATCH_METHODS.has(property)) return undefined;
      const value = Reflect.get(object, property, receiver);
      if (property === 'transaction' && typeof value === 'function') {
        return (work: (tx: StorageTransaction) => Promise<unknown>) =>
          value.call(object, (tx: StorageTransaction) => work(singleCallsOnly(tx)));
      }
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/** A memory adapter as a custom adapter without the optional batch methods would look. */
export function memoryWithoutBatchMethods(): StorageAdapter {
  return singleCallsOnly(new MemoryStorageAdapter());
}

/**
 * Storage adapters side by side: writes one by one and in one transaction, a query on an
 * indexed field, and reading the pending events. Prints a table of operations per second; it
 * asserts nothing. Run with `pnpm bench:storage` (N=… to change the record count).
 */
import 'fake-indexeddb/auto';
import './memory-local-storage.js';
import { performance } from 'node:perf_hooks';
import type { QuerySpec, StorageAdapter, StoredEvent, StoredRecord } from '@local-first/core';
import { LocalForageStorageAdapter } from '@local-first/storage-localforage';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { SqlJsStorageAdapter } from '@local-first/storage-sqljs';
import localforage from 'localforage';
import initSqlJs from 'sql.js';

const COUNT = Number(process.env.N ?? 10_000);
/** Queries are repeated up to this many times, or until this much time has passed. */
const QUERY_RUNS = 20;
const QUERY_BUDGET_MS = 2000;
const PRIORITIES = 10;
const QUERY: QuerySpec = { where: [{ field: 'priority', op: '==', value: 7 }], orderBy: [] };

interface Subject {
  name: string;
  /** A new, opened adapter over an empty store. */
  create(): Promise<StorageAdapter>;
}

const sqlJs = initSqlJs();
let stores = 0;

const ALL_SUBJECTS: Subject[] = [
  { name: 'memory', create: async () => opened(new MemoryStorageAdapter()) },
  {
    name: 'sqljs (indexed, in memory)',
    create: async () =>
      opened(new SqlJsStorageAdapter({ sqlJs, indexes: { tasks: ['priority'] } })),
  },
  {
    name: 'localforage (fake-indexeddb)',
    create: () => openedLocalForage(localforage.INDEXEDDB),
  },
  {
    name: 'localforage (localStorage in memory)',
    create: () => openedLocalForage(localforage.LOCALSTORAGE),
  },
];

function openedLocalForage(driver: string): Promise<StorageAdapter> {
  const instance = localforage.createInstance({
    name: `bench-${++stores}`,
    storeName: 'kv',
    driver,
  });
  return opened(new LocalForageStorageAdapter({ localforage: instance }));
}

/** `ONLY=sqljs` (a part of the name) measures one adapter. */
const SUBJECTS = ALL_SUBJECTS.filter((subject) => subject.name.includes(process.env.ONLY ?? ''));

async function opened(adapter: StorageAdapter): Promise<StorageAdapter> {
  await adapter.open();
  return adapter;
}

function task(index: number): StoredRecord {
  const id = `task-${String(index).padStart(6, '0')}`;
  return {
    id,
    data: {
      id,
      title: `task number ${index}`,
      priority: index % PRIORITIES,
      done: index % 3 === 0,
    },
    deleted: false,
    hlc: `hlc-${id}`,
    eventId: `evt-${id}`,
  };
}

function eventOf(record: StoredRecord): StoredEvent {
  return {
    eventId: record.eventId,
    repository: 'tasks',
    operation: 0,
    createdAt: '2024-05-01T00:00:00.000Z',
    dataId: record.id,
    data: record.data,
    hlc: record.hlc,
    syncStatus: 'pending',
    local: true,
  };
}

/** What a repository's upsert stores: the record and its event, together. */
async function upsert(adapter: StorageAdapter, index: number): Promise<void> {
  const record = task(index);
  await adapter.transaction(async (tx) => {
    await tx.putRecord('tasks', record);
    await tx.appendEvent(eventOf(record));
  });
}

/** Runs `work` and returns operations per second for `operations` of them. */
async function rate(operations: number, work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return operations / ((performance.now() - start) / 1000);
}

async function measure(subject: Subject): Promise<Record<string, number>> {
  const results: Record<string, number> = {};

  const oneByOne = await subject.create();
  results[`${COUNT} upserts, one transaction each`] = await rate(COUNT, async () => {
    for (let index = 0; index < COUNT; index++) await upsert(oneByOne, index);
  });
  await oneByOne.close();

  const adapter = await subject.create();
  results[`${COUNT} upserts in one transaction`] = await rate(COUNT, () =>
    adapter.transaction(async (tx) => {
      for (let index = 0; index < COUNT; index++) {
        const record = task(index);
        await tx.putRecord('tasks', record);
        await tx.appendEvent(eventOf(record));
      }
    }),
  );

  const expected = COUNT / PRIORITIES;
  const start = performance.now();
  let runs = 0;
  // An adapter that reads every record of the repository gets fewer runs, not a longer bench.
  while (runs < QUERY_RUNS && (runs === 0 || performance.now() - start < QUERY_BUDGET_MS)) {
    const found = await adapter.queryRecords('tasks', QUERY);
    if (found.length !== expected) throw new Error(`${subject.name}: query found ${found.length}`);
    runs++;
  }
  results[`query priority == 7 over ${COUNT} (queries)`] =
    runs / ((performance.now() - start) / 1000);

  results[`read ${COUNT} pending events (events)`] = await rate(COUNT, async () => {
    const pending = await adapter.getEvents({ status: 'pending' });
    if (pending.length !== COUNT) throw new Error(`${subject.name}: ${pending.length} pending`);
  });
  await adapter.close();
  return results;
}

function formatRate(value: number): string {
  return value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en-US');
}

const table: Record<string, Record<string, string>> = {};
for (const subject of SUBJECTS) {
  const results = await measure(subject);
  for (const [scenario, value] of Object.entries(results)) {
    table[scenario] ??= {};
    table[scenario][subject.name] = formatRate(value);
  }
  console.log(`measured ${subject.name}`);
}
console.log(`\nStorage adapters, operations per second (Node ${process.version}, N=${COUNT})`);
console.table(table);
console.log(
  'fake-indexeddb keeps every finished transaction of a database and filters that list on each\n' +
    'new one, so its cost per call grows with the calls made before: its column understates\n' +
    'IndexedDB. The localStorage column shows the same adapter without that effect.',
);

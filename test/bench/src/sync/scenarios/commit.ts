/**
 * What durability costs on this machine: our SQLite event store alone, committing one event
 * at a time (WAL, synchronous=FULL, so each commit waits for fsync), paced like the latency
 * writes. No network and no server: the part of our write → watch latency that the disk sets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '@local-first/core';
import { SqliteEventStore } from '@local-first/store-sqlite';
import { type Distribution, distribution, sleep } from '../stats.js';
import { makeRecord } from '../workload.js';
import { type LatencySizes, PACE_MS } from './latency.js';

export interface CommitResult {
  commits: number;
  commitMs: Distribution;
}

export async function sqliteCommitLatency(sizes: LatencySizes): Promise<CommitResult> {
  const directory = await mkdtemp(join(tmpdir(), 'lf-bench-commit-'));
  const store = new SqliteEventStore({ path: join(directory, 'events.sqlite') });
  await store.open();
  try {
    const samples: number[] = [];
    for (let index = 0; index < sizes.warmup + sizes.writes; index++) {
      const record = makeRecord('commit', index);
      const event = {
        eventId: uuidv7(Date.now()),
        operation: 0 as const,
        createdAt: new Date().toISOString(),
        dataId: record.id,
        data: record,
      };
      const start = performance.now();
      await store.append('commit', [event]);
      const took = performance.now() - start;
      if (index >= sizes.warmup) samples.push(took);
      await sleep(Math.max(0, PACE_MS - took));
    }
    return { commits: samples.length, commitMs: distribution(samples) };
  } finally {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  }
}

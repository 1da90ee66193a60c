/**
 * The load scenarios of `pnpm bench`, each on a fresh server: 100 concurrent writers (without
 * group commit, with it on the event loop, with it in the writer thread), a slow reader, and 10,000 connections; the last two beside the Yjs
 * peer's server.
 */
import type { BenchConfig } from './config.js';
import { OurServer, YjsServer } from './processes.js';
import {
  type ConnectionsResult,
  concurrentWriters,
  ourConnections,
  ourSlowReader,
  type SlowReaderResult,
  type WritersResult,
  yjsConnections,
  yjsSlowReader,
} from './scenarios/load.js';

export interface LoadResults {
  /**
   * One transaction and fsync per push (`--group-commit off`), group commit on the event loop
   * (`--sqlite-writer inline`), then the default (group commit in the writer thread).
   */
  writers: { oneCommitPerPush: WritersResult; inline: WritersResult; groupCommit: WritersResult };
  slowReader: { ours: SlowReaderResult; yjs: SlowReaderResult };
  connections: { ours: ConnectionsResult; yjs: ConnectionsResult };
}

type Step = <T>(name: string, work: () => Promise<T>) => Promise<T>;

/** Runs `work` on a started server, then stops it whatever happened. */
export async function onServer<T>(
  server: OurServer | YjsServer,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } finally {
    await server.stop();
  }
}

export async function runLoad(config: BenchConfig, step: Step): Promise<LoadResults> {
  const sizes = config.load;
  const off = await OurServer.start('sqlite', ['--group-commit', 'off']);
  const oneCommitPerPush = await onServer(off, () =>
    step(`ours ${sizes.writers} writers, one commit per push`, () =>
      concurrentWriters(off, sizes, 'writers'),
    ),
  );
  const onLoop = await OurServer.start('sqlite', ['--sqlite-writer', 'inline']);
  const inline = await onServer(onLoop, () =>
    step(`ours ${sizes.writers} writers, group commit on the event loop`, () =>
      concurrentWriters(onLoop, sizes, 'writers'),
    ),
  );
  const on = await OurServer.start();
  const groupCommit = await onServer(on, () =>
    step(`ours ${sizes.writers} writers, group commit`, () =>
      concurrentWriters(on, sizes, 'writers'),
    ),
  );
  const slowOurs = await OurServer.start();
  const ourReader = await onServer(slowOurs, () =>
    step('ours slow reader', () => ourSlowReader(slowOurs, sizes)),
  );
  const slowYjs = await YjsServer.start();
  const yjsReader = await onServer(slowYjs, () =>
    step('yjs slow reader', () => yjsSlowReader(slowYjs, sizes)),
  );
  const manyOurs = await OurServer.start();
  const ourMany = await onServer(manyOurs, () =>
    step(`ours ${sizes.connections} connections`, () => ourConnections(manyOurs, sizes)),
  );
  const manyYjs = await YjsServer.start();
  const yjsMany = await onServer(manyYjs, () =>
    step(`yjs ${sizes.connections} connections`, () => yjsConnections(manyYjs, sizes)),
  );
  return {
    writers: { oneCommitPerPush, inline, groupCommit },
    slowReader: { ours: ourReader, yjs: yjsReader },
    connections: { ours: ourMany, yjs: yjsMany },
  };
}

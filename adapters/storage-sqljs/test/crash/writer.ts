/**
 * The child process of the crash test: writes one transaction after another into a database
 * file, flushes after each, and prints the id of every write whose flush has completed. The
 * test kills it with SIGKILL at an arbitrary moment. Stdout to a pipe is synchronous on Linux,
 * so a printed id was on disk before the line left.
 */
import initSqlJs from 'sql.js';
import { SqlJsStorageAdapter } from '../../src/index.js';
import { NodeFilePersister } from '../../src/node.js';

const path = process.argv[2];
if (!path) throw new Error('usage: writer.ts <database file>');

// Enough bytes per write that saving the file takes a while, so kills land inside saves too.
const PAYLOAD = 'crash-test-payload-'.repeat(100);

const adapter = new SqlJsStorageAdapter({
  sqlJs: initSqlJs(),
  persister: new NodeFilePersister({ path }),
  saveIntervalMs: 60_000,
});
await adapter.open();
let id = Number((await adapter.getMeta('last')) ?? '0');
process.stdout.write(`ready ${id}\n`);
for (;;) {
  id += 1;
  const key = String(id).padStart(8, '0');
  await adapter.transaction(async (tx) => {
    await tx.putRecord('writes', {
      id: key,
      data: { id: key, n: id, payload: PAYLOAD },
      deleted: false,
      hlc: key,
      eventId: `e-${key}`,
    });
    await tx.appendEvent({
      eventId: `e-${key}`,
      repository: 'writes',
      operation: 0,
      createdAt: '2024-05-01T00:00:00.000Z',
      dataId: key,
      data: { id: key, n: id },
      hlc: key,
      syncStatus: 'pending',
      local: true,
    });
    await tx.setMeta('last', String(id));
  });
  await adapter.flush();
  process.stdout.write(`flushed ${id}\n`);
}

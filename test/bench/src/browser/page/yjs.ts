/**
 * The Yjs peer in the browser: a Y.Doc with a Y.Map of records, synced by y-websocket from the
 * Yjs server and kept in IndexedDB by y-indexeddb, as a Yjs app in a browser has it.
 */
import { IndexeddbPersistence } from 'y-indexeddb';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { watchLongTasks } from './long-tasks.js';

let documents = 0;

async function persisted(room: string) {
  const doc = new Y.Doc();
  const persistence = new IndexeddbPersistence(`yjs-${room}-${++documents}-${Date.now()}`, doc);
  await persistence.whenSynced;
  /** Resolves once IndexedDB holds every update stored so far (a read waits for the writes). */
  const stored = () =>
    new Promise<void>((resolve, reject) => {
      const transaction = persistence.db!.transaction(['updates'], 'readonly');
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
  return { doc, persistence, stored };
}

/** Catches a room of the Yjs server up into a fresh document kept in IndexedDB. */
export async function yjsCatchUp(options: { url: string; room: string }) {
  const { doc, persistence, stored } = await persisted(options.room);
  const longTasks = watchLongTasks();
  const started = performance.now();
  const provider = new WebsocketProvider(options.url, options.room, doc, { disableBc: true });
  await new Promise<void>((resolve) => {
    const onSync = (synced: boolean) => {
      if (!synced) return;
      provider.off('sync', onSync);
      resolve();
    };
    provider.on('sync', onSync);
  });
  await stored();
  const syncMs = performance.now() - started;
  const tasks = await longTasks.stop();
  const count = doc.getMap('records').size;
  provider.destroy();
  await persistence.destroy();
  doc.destroy();
  return { syncMs, count, longTasks: tasks };
}

/** `changes` sets on the map, each its own update, or all in one `doc.transact`. */
export async function yjsLocalWrites(options: {
  changes: number;
  mode: 'one-by-one' | 'one-transaction';
}) {
  const { doc, persistence, stored } = await persisted('local');
  const map = doc.getMap('records');
  const longTasks = watchLongTasks();
  const started = performance.now();
  const set = (n: number) => map.set(`r${n}`, { id: `r${n}`, title: `record ${n}`, n });
  if (options.mode === 'one-transaction')
    doc.transact(() => {
      for (let n = 0; n < options.changes; n++) set(n);
    });
  else
    for (let n = 0; n < options.changes; n++) {
      set(n);
      // As an app's writes come: each in a task of its own, stored before the next.
      await stored();
    }
  await stored();
  const ms = performance.now() - started;
  const tasks = await longTasks.stop();
  await persistence.destroy();
  doc.destroy();
  return { ms, longTasks: tasks };
}

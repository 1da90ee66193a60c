/**
 * The floor: raw IndexedDB doing the same puts as a store of ours, one transaction per batch
 * and nothing else (no index, no journal, no sync). A record and its event per change.
 */
export async function rawFloor(changes: number, perTransaction: number): Promise<number> {
  const name = `raw-floor-${changes}-${perTransaction}-${Math.random().toString(36).slice(2)}`;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const opening = indexedDB.open(name, 1);
    opening.onupgradeneeded = () => {
      opening.result.createObjectStore('records');
      opening.result.createObjectStore('events');
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  const started = performance.now();
  for (let first = 0; first < changes; first += perTransaction) {
    const transaction = db.transaction(['records', 'events'], 'readwrite');
    const records = transaction.objectStore('records');
    const events = transaction.objectStore('events');
    for (let i = first; i < Math.min(changes, first + perTransaction); i++) {
      const id = `r${i}`;
      const data = { id, title: `record ${i}`, n: i };
      records.put({ id, data, deleted: false, hlc: `h${i}`, eventId: `e${i}` }, id);
      events.put(
        { eventId: `e${i}`, repository: 'bench', dataId: id, data, syncStatus: 'ok' },
        `e${i}`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
  }
  const ms = performance.now() - started;
  db.close();
  await new Promise<void>((resolve) => {
    const deleting = indexedDB.deleteDatabase(name);
    deleting.onsuccess = () => resolve();
    deleting.onerror = () => resolve();
  });
  return ms;
}

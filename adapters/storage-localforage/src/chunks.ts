/**
 * How many store calls the adapter keeps in flight at once. One at a time wastes a round trip
 * per key; thousands at once make IndexedDB implementations juggle thousands of transactions.
 */
export const CONCURRENCY = 64;

/**
 * Runs `task` over `items`, `CONCURRENCY` at a time, results in order. Every call of a chunk
 * has settled before the first failure is thrown, so nothing is still writing when a caller
 * starts to undo.
 */
export async function inChunks<T, R>(
  items: readonly T[],
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += CONCURRENCY) {
    const settled = await Promise.allSettled(items.slice(start, start + CONCURRENCY).map(task));
    for (const outcome of settled) {
      if (outcome.status === 'rejected') throw outcome.reason;
      results.push(outcome.value);
    }
  }
  return results;
}

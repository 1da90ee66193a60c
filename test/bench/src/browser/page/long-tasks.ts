/** Tasks of the page that ran longer than 50 ms (the browser's long-task entries). */
export interface LongTasks {
  count: number;
  /** The longest, ms; 0 when there was none. */
  maxMs: number;
  totalMs: number;
}

/** Records the page's long tasks from now until `stop()`. */
export function watchLongTasks(): { stop(): Promise<LongTasks> } {
  const seen: LongTasks = { count: 0, maxMs: 0, totalMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      seen.count++;
      seen.totalMs += entry.duration;
      seen.maxMs = Math.max(seen.maxMs, entry.duration);
    }
  });
  observer.observe({ type: 'longtask', buffered: false });
  return {
    async stop() {
      // Entries are delivered after the task that produced them: let one more task pass.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      for (const entry of observer.takeRecords()) {
        seen.count++;
        seen.totalMs += entry.duration;
        seen.maxMs = Math.max(seen.maxMs, entry.duration);
      }
      observer.disconnect();
      return { ...seen, maxMs: Math.round(seen.maxMs), totalMs: Math.round(seen.totalMs) };
    },
  };
}

// Loaded with `--import` into a server process that the benchmark starts; the server's own code
// knows nothing of it. On request over the IPC channel it runs a full garbage collection (when
// the process runs with --expose-gc) and answers with the process's memory usage, so idle
// memory is measured without garbage that merely waits for the next collection.
process.channel?.unref();
// The benchmark that started this server is gone: do not outlive it.
process.on('disconnect', () => process.exit(0));
process.on('message', (message) => {
  if (message?.type !== 'bench:gc') return;
  const collect = globalThis.gc;
  if (typeof collect === 'function') {
    collect();
    collect();
  }
  process.send?.({
    type: 'bench:memory',
    collected: typeof collect === 'function',
    usage: process.memoryUsage(),
  });
});

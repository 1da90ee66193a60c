/**
 * What the model-based tests of the strategies share: the seed a run uses, and a trap for
 * errors that escape the code under test while a model runs.
 */

/**
 * The seed of a property run, read before any clock is faked: `FC_SEED` when given (to
 * replay a run); under `CI` a fixed seed, so a run that lands is a run anyone can repeat;
 * elsewhere a new one each time, to explore.
 */
export function modelSeed(ciSeed: number, environment = process.env): number {
  if (environment.FC_SEED) return Number(environment.FC_SEED);
  return environment.CI ? ciSeed : Math.floor(Math.random() * 2 ** 31);
}

/**
 * Routes unhandled rejections and uncaught exceptions to `record` while it takes them (it
 * returns false when no model is running, and the process's own listeners get them as
 * before). Returns the function that puts the process's listeners back.
 */
export function captureUncaught(record: (error: unknown) => boolean): () => void {
  const rejections = process.listeners('unhandledRejection');
  const exceptions = process.listeners('uncaughtException');
  const onRejection = (reason: unknown, promise: Promise<unknown>) => {
    if (!record(reason)) for (const listener of rejections) listener(reason, promise);
  };
  const onException = (error: Error, origin: NodeJS.UncaughtExceptionOrigin) => {
    if (!record(error)) for (const listener of exceptions) listener(error, origin);
  };
  process.removeAllListeners('unhandledRejection');
  process.removeAllListeners('uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.removeAllListeners('unhandledRejection');
    process.removeAllListeners('uncaughtException');
    for (const listener of rejections) process.on('unhandledRejection', listener);
    for (const listener of exceptions) process.on('uncaughtException', listener);
  };
}

import fc from 'fast-check';
import type { Model, ModelCommand } from './commands.js';
import { healAndCompare } from './final.js';
import { World, type WorldConfig } from './world.js';

/**
 * One run: a fresh world, the commands (each checks every invariant after it acts), then the
 * world is healed and the client must sync and converge. The world is torn down whatever
 * happens, so the next run starts with no timer of this one pending.
 */
export async function runModel(
  config: WorldConfig,
  commands: Iterable<ModelCommand>,
): Promise<void> {
  const world = await World.create(config);
  try {
    const model: Model = { config };
    await fc.asyncModelRun(() => ({ model, real: world }), commands);
    await healAndCompare(world);
  } finally {
    await world.dispose();
  }
}

/** A configuration for example-based scenarios. */
export function config(overrides: Partial<WorldConfig> = {}): WorldConfig {
  return {
    latencyMs: 5,
    syncInterval: 10_000,
    pushDelay: 300,
    requestTimeout: 1_000,
    retryDelay: 200,
    maxRetryDelay: 5_000,
    maxBatchEvents: 500,
    maxBatchBytes: 64 * 1024,
    pageSize: 1_000,
    serverBatchEvents: 500,
    serverPageEvents: 1_000,
    backups: false,
    jitterSeed: 1,
    ...overrides,
  };
}

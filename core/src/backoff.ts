/**
 * The pause before retry `attempt` (0-based): a random whole number of milliseconds below
 * `baseMs × 2^attempt`, capped at `maxMs` ("full jitter"), so peers cut off by one failure do
 * not all come back in the same instant. `random` is injectable for tests.
 */
export function fullJitterBackoff(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

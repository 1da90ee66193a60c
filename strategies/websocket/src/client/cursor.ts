/**
 * Where a repository's cursor may move after a page or broadcast of events. It only moves over
 * an unbroken run of sequences, so it never skips an event: live broadcasts can arrive out of
 * order (concurrent commits) or ahead of a catch-up, and then `gap` asks for a catch-up from the
 * cursor. A catch-up page is the server's complete answer from the cursor, so its
 * `lastSequence` is taken as is.
 */
export function advanceCursor(
  cursor: number,
  sequences: readonly (number | undefined)[],
  page: { catchUp: boolean; lastSequence: number | undefined },
): { cursor: number; gap: boolean } {
  let next = cursor;
  let gap = false;
  const known = sequences
    .filter((sequence): sequence is number => typeof sequence === 'number')
    .sort((a, b) => a - b);
  for (const sequence of known) {
    if (sequence <= next) continue;
    if (sequence === next + 1 || page.catchUp) next = sequence;
    else gap = true;
  }
  if (page.catchUp && page.lastSequence !== undefined) next = Math.max(next, page.lastSequence);
  return { cursor: next, gap: gap && !page.catchUp };
}

/** A repository's position in a server's log: the sequence, and the log's epoch when known. */
export interface StoredPosition {
  sequence: number;
  epoch: string | undefined;
}

/**
 * Reads a stored position: `"42"` (written before epochs existed) or
 * `{"sequence":42,"epoch":"…"}`. Anything unreadable is the start of the log.
 */
export function parsePosition(value: string | undefined): StoredPosition {
  if (value === undefined) return { sequence: 0, epoch: undefined };
  if (value.startsWith('{')) {
    try {
      const parsed = JSON.parse(value) as { sequence?: unknown; epoch?: unknown };
      const sequence = Number(parsed.sequence);
      return {
        sequence: Number.isSafeInteger(sequence) && sequence >= 0 ? sequence : 0,
        epoch: typeof parsed.epoch === 'string' ? parsed.epoch : undefined,
      };
    } catch {
      return { sequence: 0, epoch: undefined };
    }
  }
  const sequence = Number(value);
  return {
    sequence: Number.isSafeInteger(sequence) && sequence >= 0 ? sequence : 0,
    epoch: undefined,
  };
}

/** The stored form of a position; the epoch travels with the sequence, in one meta value. */
export function formatPosition(position: StoredPosition): string {
  return position.epoch === undefined
    ? String(position.sequence)
    : JSON.stringify({ sequence: position.sequence, epoch: position.epoch });
}

/** Why a repository started over from the beginning of the server's log. */
export type ResetReason = 'epoch' | 'cursor_ahead';

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
): {
  /** The cursor after the events. */
  cursor: number;
  /** Whether a live event left a gap, so a catch-up from the cursor is due. */
  gap: boolean;
} {
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
  /** The cursor: every event up to it is in the local log. */
  sequence: number;
  /** The epoch of the log the cursor belongs to; `undefined` until a server named one. */
  epoch: string | undefined;
  /**
   * The highest sequence this device knows the log held (its own acknowledged pushes count),
   * when above `sequence`. A log that ends before it lost events: it was restored.
   */
  seen?: number;
}

/** The highest sequence a position knows the server's log reached. */
export function reach(position: StoredPosition): number {
  return Math.max(position.sequence, position.seen ?? 0);
}

/**
 * Reads a stored position: `"42"` (written before epochs existed) or
 * `{"sequence":42,"epoch":"…","seen":45}`. Anything unreadable is the start of the log.
 */
export function parsePosition(value: string | undefined): StoredPosition {
  if (value === undefined) return { sequence: 0, epoch: undefined };
  if (value.startsWith('{')) {
    try {
      const parsed = JSON.parse(value) as { sequence?: unknown; epoch?: unknown; seen?: unknown };
      const position: StoredPosition = {
        sequence: count(parsed.sequence),
        epoch: typeof parsed.epoch === 'string' ? parsed.epoch : undefined,
      };
      if (count(parsed.seen) > position.sequence) position.seen = count(parsed.seen);
      return position;
    } catch {
      return { sequence: 0, epoch: undefined };
    }
  }
  return { sequence: count(value), epoch: undefined };
}

/** A stored count: a non-negative safe integer, else 0. */
function count(value: unknown): number {
  const number = Number(value);
  return Number.isSafeInteger(number) && number >= 0 ? number : 0;
}

/** The stored form of a position; the epoch travels with the sequence, in one meta value. */
export function formatPosition(position: StoredPosition): string {
  const seen = position.seen !== undefined && position.seen > position.sequence;
  if (position.epoch === undefined && !seen) return String(position.sequence);
  return JSON.stringify({
    sequence: position.sequence,
    ...(position.epoch === undefined ? {} : { epoch: position.epoch }),
    ...(seen ? { seen: position.seen } : {}),
  });
}

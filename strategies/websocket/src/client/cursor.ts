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

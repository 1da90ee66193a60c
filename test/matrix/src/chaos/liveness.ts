/** A connection state a client reported, stamped when the test read it. */
export interface StateChange {
  at: number;
  incarnation: number;
  /** A strategy state, or `exited` when the process ended. */
  state: string;
}

/** A stall of one client's link, in epoch ms. */
export interface StallWindow {
  client: string;
  startedAt: number;
  durationMs: number;
}

export interface NoticeReport {
  problems: string[];
  /** How long each measured stall took to be noticed, in ms. */
  measured: number[];
}

/**
 * A stalled link must be noticed within `boundMs`: a client connected when its link stalls
 * leaves `connected` by then (its heartbeat finds no answer). Only stalls that last at least
 * `boundMs` and end before `until` are measured; a client whose process ended meanwhile is
 * judged by its crash report, not here.
 */
export function checkStallsNoticed(
  stalls: readonly StallWindow[],
  histories: ReadonlyMap<string, readonly StateChange[]>,
  boundMs: number,
  until: number,
  /** Times are printed relative to this (the start of the faults), as in the timeline. */
  origin: number,
): NoticeReport {
  const problems: string[] = [];
  const measured: number[] = [];
  for (const stall of stalls) {
    if (stall.durationMs < boundMs || stall.startedAt + boundMs > until) continue;
    const history = histories.get(stall.client) ?? [];
    const before = history.filter((change) => change.at <= stall.startedAt).at(-1);
    if (before?.state !== 'connected') continue;
    const after = history.find((change) => change.at > stall.startedAt);
    if (after?.state === 'exited') continue;
    const noticedAfter = after ? after.at - stall.startedAt : Number.POSITIVE_INFINITY;
    measured.push(noticedAfter);
    if (noticedAfter > boundMs)
      problems.push(
        `${stall.client}: its link stalled at +${((stall.startedAt - origin) / 1000).toFixed(1)}s for ` +
          `${stall.durationMs} ms while connected, and it ${after ? `left "connected" only ${noticedAfter} ms later (as "${after.state}")` : 'never left "connected"'}; ` +
          `heartbeats should notice within ${boundMs} ms`,
      );
  }
  return { problems, measured };
}

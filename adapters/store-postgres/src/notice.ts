/**
 * The payload of one fan-out `NOTIFY`: JSON `{"v":1,"n":node,"s":lastSequence,"r":repository}`.
 * PostgreSQL refuses a payload of 8000 bytes or more; a notice whose repository name would not
 * fit goes out without `r`, and its receivers re-read every repository they serve.
 */

/** The largest payload PostgreSQL takes (its limit is "shorter than 8000 bytes"). */
export const MAX_NOTICE_BYTES = 7_999;
const NOTICE_VERSION = 1;

/** What a notice carries; `repository` is absent when the name did not fit. */
export interface Notice {
  repository?: string;
  lastSequence: number;
  node: string;
}

/** The payload for a notice, without the repository when the whole would be too long. */
export function encodeNotice(notice: Required<Notice>): string {
  const { repository, lastSequence, node } = notice;
  const whole = JSON.stringify({ v: NOTICE_VERSION, n: node, s: lastSequence, r: repository });
  if (Buffer.byteLength(whole, 'utf8') <= MAX_NOTICE_BYTES) return whole;
  return JSON.stringify({ v: NOTICE_VERSION, n: node, s: lastSequence });
}

/** The notice of a payload, or `undefined` when it is not one of ours (another sender, a newer version). */
export function decodeNotice(payload: string | undefined): Notice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, n, s, r } = value as Record<string, unknown>;
  if (v !== NOTICE_VERSION || typeof n !== 'string') return undefined;
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) return undefined;
  if (r !== undefined && typeof r !== 'string') return undefined;
  return r === undefined
    ? { lastSequence: s, node: n }
    : { repository: r, lastSequence: s, node: n };
}

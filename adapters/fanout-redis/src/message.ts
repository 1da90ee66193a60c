/**
 * The payload of one fan-out `PUBLISH`: JSON `{"v":1,"n":node,"s":lastSequence,"r":repository}`.
 * Redis carries up to 512 MB per message, so the repository name always goes along.
 */

/** The version of the payload; a message of another version is not ours. */
export const MESSAGE_VERSION = 1;

/** What one message carries. */
export interface Message {
  repository: string;
  lastSequence: number;
  node: string;
}

/** The payload for a message. */
export function encodeMessage(message: Message): string {
  const { repository, lastSequence, node } = message;
  return JSON.stringify({ v: MESSAGE_VERSION, n: node, s: lastSequence, r: repository });
}

/**
 * The message of a payload, or `undefined` when it is not one of ours (another publisher on the
 * channel, a newer version, a broken payload).
 */
export function decodeMessage(payload: string): Message | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, n, s, r } = value as Record<string, unknown>;
  if (v !== MESSAGE_VERSION || typeof n !== 'string' || typeof r !== 'string') return undefined;
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) return undefined;
  return { repository: r, lastSequence: s, node: n };
}

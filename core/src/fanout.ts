import type { Unsubscribe } from './signal.js';

/** What one node tells the others after a commit: a repository's log now reaches a sequence. */
export interface FanoutAnnouncement {
  /** The repository whose log grew, exactly as the event store names it. */
  repository: string;
  /** The highest sequence the announcing node knows the repository's log holds. */
  lastSequence: number;
  /** The `node` of the fan-out that announced it. */
  node: string;
}

/**
 * Why a node may have missed announcements: its listening side was down (`reconnect`), or an
 * announcement arrived that could not name its repository (`overflow`: the name did not fit
 * in what the fan-out carries).
 */
export type FanoutMissCause = 'reconnect' | 'overflow';

/**
 * Tells the server nodes that share one event store when a repository's log grows, so each
 * node can read the new events and broadcast them to its own connections. An announcement is
 * only a hint: the log stays the truth, announcements may be lost, repeated or reordered, and
 * a node that hears one reads the log from what it already knows. A node never hears its own
 * announcements. Calls before `open()` fail with `not_initialized`, after `close()` with
 * `closed`; closing twice is harmless. `onMissed` is a capability: a fan-out that can lose
 * announcements without noticing (a listening connection that drops) must offer it.
 */
export interface Fanout {
  /** Names this node in its announcements; other nodes' announcements carry their own. */
  readonly node: string;
  /** Starts listening; resolves once announcements made from now on will be heard. */
  open(): Promise<void>;
  /** Tells the other nodes that `repository` reaches `lastSequence`; resolves once sent. */
  announce(repository: string, lastSequence: number): Promise<void>;
  /** Hears the other nodes' announcements; returns the function that stops listening. */
  onAnnouncement(listener: (announcement: FanoutAnnouncement) => void): Unsubscribe;
  /** Capability: hears that announcements may have been missed; re-read what you serve. */
  onMissed?(listener: (cause: FanoutMissCause) => void): Unsubscribe;
  /** Stops listening and releases connections; listeners hear nothing after it. */
  close(): Promise<void>;
  /** Capability: false while this node cannot hear the others (between reconnects). */
  readonly listening?: boolean;
}

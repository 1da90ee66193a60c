import type { Logger } from '@local-first/core';
import { CLOSE_CODES, type ServerEvent } from '@local-first/core/adapter';

/** What one commit did, as an observer sees it. */
export interface CommitObservation {
  /** Events newly stored. */
  appended: number;
  /** Events the log already held, acknowledged as duplicates. */
  duplicates: number;
  /** The code of each event refused (`invalid_event`, `forbidden`). */
  rejectedCodes: readonly string[];
  /** How long the store took to commit, in seconds (0 when nothing was new). */
  seconds: number;
}

/**
 * Hooks through which the engine reports what it does, for metrics or tracing. Every method is
 * optional, is called synchronously on the engine's path, and must not throw or block: an
 * observer that fails is logged and ignored. `@local-first/server`'s Prometheus metrics are one.
 * Repositories are named as clients name them: under rules, the events of every user's private
 * `todos` count under `todos`.
 */
export interface EngineObserver {
  /** A connection was accepted; `transport` is the name its transport gives (`ws`, `socketio`). */
  connectionOpened?(transport: string): void;
  /** A connection ended, for whatever reason. */
  connectionClosed?(transport: string): void;
  /** The server closed a connection; `reason` names its close code (`rateLimited`, `tooFarBehind`…). */
  connectionCut?(reason: string, code: number): void;
  /** A push was committed (or found to hold nothing new). */
  committed?(repository: string, observation: CommitObservation): void;
  /** A push was acknowledged, `seconds` after it arrived (time in the connection's queue included). */
  acknowledged?(via: 'socket' | 'rest', seconds: number): void;
  /** New events went to `readers` other connections. */
  broadcast?(repository: string, events: number, readers: number): void;
  /** Events committed by another node were read for this node's readers. */
  relayed?(repository: string, events: readonly ServerEvent[]): void;
  /** A catch-up page went out. */
  catchUpPage?(repository: string, events: number): void;
  /** An `error` or `auth_failed` message was sent; `type` says which. */
  errorSent?(type: 'error' | 'auth_failed', code: string): void;
  /** A connection was told it is `lagging` and stops getting live events for a while. */
  lagging?(repository: string | undefined): void;
}

const CLOSE_CODE_NAMES = new Map<number, string>(
  Object.entries(CLOSE_CODES).map(([name, code]) => [code as number, name]),
);

/** The name `CLOSE_CODES` gives a close code, or the number as text. */
export function closeCodeName(code: number): string {
  return CLOSE_CODE_NAMES.get(code) ?? String(code);
}

const HOOKS = [
  'connectionOpened',
  'connectionClosed',
  'connectionCut',
  'committed',
  'acknowledged',
  'broadcast',
  'relayed',
  'catchUpPage',
  'errorSent',
  'lagging',
] as const satisfies readonly (keyof EngineObserver)[];

/**
 * Every hook of `observer`, present and safe to call: a missing one does nothing, and one that
 * throws is logged (once per hook) and ignored, so metrics never break the protocol.
 */
export function guardObserver(
  observer: EngineObserver | undefined,
  logger: Logger,
): Required<EngineObserver> {
  const guarded: Record<string, (...args: never[]) => void> = {};
  for (const hook of HOOKS) {
    const method = observer?.[hook] as ((...args: unknown[]) => void) | undefined;
    if (!method) {
      guarded[hook] = () => undefined;
      continue;
    }
    let warned = false;
    guarded[hook] = (...args: unknown[]) => {
      try {
        method.apply(observer, args);
      } catch (error) {
        if (!warned) logger.warn({ error, hook }, 'an engine observer failed; ignored');
        warned = true;
      }
    };
  }
  return guarded as unknown as Required<EngineObserver>;
}

import { ERROR_CODES, type ErrorCode, isLocalFirstError, LocalFirstError } from '@local-first/core';
import {
  type ExternalCommit,
  type StorageTransaction,
  storageClosedError,
} from '@local-first/core/adapter';

// The messages the tabs of one app exchange on their BroadcastChannel. A channel delivers to
// every other tab; messages meant for one carry its id in `to`.

/** A follower asks who leads; the leader answers with `leader`. */
export interface HelloMessage {
  kind: 'hello';
  from: string;
}

/** The tab that leads, said when it starts to lead and to each `hello`. */
export interface LeaderMessage {
  kind: 'leader';
  from: string;
}

/**
 * A storage call a follower asks the leader to make: a method of `StorageAdapter` (or of the
 * transaction `tx`), in the follower's namespace. `begin`, `commit` and `abort` open and end a
 * transaction.
 */
export interface CallMessage {
  kind: 'call';
  from: string;
  to: string;
  id: number;
  namespace: string;
  tx?: string;
  method: string;
  args: unknown[];
}

/** The answer to a call. */
export interface ReplyMessage {
  kind: 'reply';
  from: string;
  to: string;
  id: number;
  ok: boolean;
  value?: unknown;
  error?: WireError;
}

/** A transaction committed, by the leader or through it: every tab updates from it. */
export interface CommitMessage {
  kind: 'commit';
  from: string;
  /** The tab whose transaction it was; that tab knows already. */
  origin: string;
  commit: ExternalCommit;
}

/** Every message of the tabs' channel. */
export type TabMessage = HelloMessage | LeaderMessage | CallMessage | ReplyMessage | CommitMessage;

/** An error as it crosses the channel. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Whether a value read off the channel is one of our messages. */
export function isTabMessage(value: unknown): value is TabMessage {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, from } = value as { kind?: unknown; from?: unknown };
  return typeof from === 'string' && typeof kind === 'string';
}

/** An error as it crosses the channel: its code and message (and details) survive. */
export function toWire(error: unknown): WireError {
  if (isLocalFirstError(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: { ...error.details } } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: ERROR_CODES.storageFailure, message };
}

/** The error again, on the tab that made the call. */
export function fromWire(error: WireError): LocalFirstError {
  return new LocalFirstError(error.code as ErrorCode, error.message, {
    ...(error.details ? { details: error.details } : {}),
  });
}

/** Every method of a `StorageTransaction`, the optional batch ones included. */
const TRANSACTION_METHODS = [
  'getRecord',
  'queryRecords',
  'getEvent',
  'hasEvent',
  'getEvents',
  'getMeta',
  'putRecord',
  'appendEvent',
  'setEventStatus',
  'setMeta',
  'clearRepository',
  'getRecords',
  'getEventStatuses',
  'putRecords',
  'appendEvents',
];

/**
 * A transaction whose every call is made by `call` (on the leader's open transaction); once
 * `ended()` says so, calls reject with `closed`.
 */
export function forwardingTransaction(
  call: (method: string, args: unknown[]) => Promise<unknown>,
  ended: () => boolean,
): StorageTransaction {
  const tx: Record<string, unknown> = {};
  for (const method of TRANSACTION_METHODS) {
    tx[method] = async (...args: unknown[]) => {
      if (ended()) throw storageClosedError();
      return call(method, args);
    };
  }
  return tx as unknown as StorageTransaction;
}

/** A call sent to the leader, waiting for its reply. */
export interface Pending {
  message: CallMessage;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The leader changed under a transaction: it is run again with the new one. */
export class LeaderChanged extends Error {}

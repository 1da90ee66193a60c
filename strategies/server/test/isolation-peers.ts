import { io } from 'socket.io-client';
import { type Message, RawClient } from './helpers.js';
import type { ConnectionSpec } from './isolation-model.js';

/** How long one wait of the isolation test lasts before it fails with what it saw. */
export const WAIT_MS = 5_000;

/** Where a node of the scenario listens. */
export interface NodeAddress {
  /** `http://127.0.0.1:<port>`: REST and socket.io. */
  url: string;
  /** `ws://127.0.0.1:<port>/sync` */
  wsUrl: string;
}

export interface WireEvent {
  eventId: string;
  serverSequence: number;
  data?: { write?: number } | null;
}

/**
 * Wakes the waits of a scenario whenever anything arrives (a message on any connection, a
 * REST answer), so each wait re-checks its condition then, and only fails after `WAIT_MS`.
 */
export class Arrivals {
  private readonly checks = new Set<() => void>();

  poke(): void {
    for (const check of [...this.checks]) check();
  }

  until(done: () => boolean, what: string, report: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${what} within ${WAIT_MS} ms: ${report()}`));
      }, WAIT_MS);
      const stop = () => {
        clearTimeout(timer);
        this.checks.delete(check);
      };
      this.checks.add(check);
    });
  }
}

/** The answers that end a request: every page of a catch-up comes before them. */
const ENDS = new Set(['ack', 'error', 'auth_success', 'auth_failed', 'sync_complete']);

/** One open connection of a scenario, raw ws or socket.io, keeping every message it got. */
export class Peer {
  readonly log: Message[] = [];

  private constructor(
    readonly spec: ConnectionSpec,
    private readonly transmit: (message: object) => void,
    readonly close: () => void,
  ) {}

  static async open(spec: ConnectionSpec, node: NodeAddress, arrivals: Arrivals): Promise<Peer> {
    let peer: Peer;
    const receive = (message: Message) => {
      peer.log.push(message);
      arrivals.poke();
    };
    if (spec.transport === 'ws') {
      const raw = await RawClient.connect(node.wsUrl);
      raw.socket.on('message', (data) => receive(JSON.parse(data.toString()) as Message));
      peer = new Peer(
        spec,
        (message) => void raw.send(message),
        () => raw.close(),
      );
    } else {
      const socket = io(node.url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      socket.on('message', receive);
      peer = new Peer(
        spec,
        (message) => socket.send(message),
        () => socket.close(),
      );
    }
    return peer;
  }

  send(message: object): void {
    this.transmit(message);
  }

  /**
   * The answer that ends the request `requestId`. For `request_all_events` that is the last
   * `sync_complete`, the one without a repository.
   */
  answer(requestId: string, all = false): Message | undefined {
    return this.log.find(
      (message) =>
        message.requestId === requestId &&
        ENDS.has(message.type) &&
        !(all && message.type === 'sync_complete' && message.repository !== undefined),
    );
  }

  /** `repository|eventId|write` of every event of the answers to `requestId` (none: live). */
  keys(requestId: string | undefined): string[] {
    return this.log.flatMap((message) =>
      message.type === 'events' && message.requestId === requestId
        ? (message.events as WireEvent[]).map((event) => keyOf(message.repository, event))
        : [],
    );
  }
}

/** What the checks compare: where an event was, which it was, and whose write it carries. */
export function keyOf(repository: unknown, event: WireEvent): string {
  return `${String(repository)}|${event.eventId}|w${event.data?.write ?? '?'}`;
}

/** The index of the write whose event a key names. */
export function writeOfKey(key: string): number {
  return Number(key.slice(key.lastIndexOf('|w') + 2));
}

/**
 * `what`'s missing and unexpected keys, or undefined when `got` is `wanted` and perhaps some
 * of `allowed`.
 */
export function difference(
  what: string,
  got: Iterable<string>,
  wanted: Iterable<string>,
  allowed: ReadonlySet<string> = new Set(),
): string | undefined {
  const have = new Set(got);
  const want = new Set(wanted);
  const missing = [...want].filter((key) => !have.has(key));
  const unexpected = [...have].filter((key) => !want.has(key) && !allowed.has(key));
  if (missing.length === 0 && unexpected.length === 0) return undefined;
  const list = (keys: string[]) =>
    `${keys.slice(0, 12).join(', ')}${keys.length > 12 ? ', …' : ''}`;
  return `${what}: ${have.size} events; missing [${list(missing)}]; unexpected [${list(unexpected)}]`;
}

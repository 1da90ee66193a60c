import type { Transport } from '@local-first/core';
import type {
  CloseInfo,
  IncomingConnectionInfo,
  TransportConnection,
  TransportOpenOptions,
  TransportServer,
} from '@local-first/core/adapter';
import { DEFAULT_MAX_FRAME_BYTES } from '@local-first/core/adapter';

/**
 * A peer that sends what the transport's own client never would: text that is not a JSON object,
 * binary frames. For the raw WebSocket transport, a plain `ws` client; for socket.io, a bare
 * socket.io client emitting `message` with a string or a buffer.
 */
export interface RawPeer {
  /** Sends one text frame, or the transport's equivalent, as is. */
  sendText(text: string): void;
  /** Sends one binary frame, or the transport's equivalent. */
  sendBinary(bytes: Uint8Array): void;
  /** Closes the peer's connection. */
  close(): Promise<void>;
}

/** What a transport author hands the transport suite for each test. */
export interface TransportSetup {
  /** The client half under test. */
  transport: Transport;
  /** Where `transport.open(url)` reaches `server`; for TCP a real server on 127.0.0.1, port 0. */
  url: string;
  /** The server half, attached to that server; the suite registers its own handlers. */
  server: TransportServer;
  /** Closes the server half and whatever carries it (an HTTP server, a channel). The suite has closed its clients first. */
  teardown(): Promise<void>;
  /** The server's frame limit in bytes, as configured. Default `DEFAULT_MAX_FRAME_BYTES`. */
  maxFrameBytes?: number;
  /** Whether `open()` can send headers on the upgrade (Node: yes; browsers: no). Default true. */
  upgradeHeaders?: boolean;
  /** Opens a raw peer to `url`; without it the invalid-frame tests are skipped. */
  openRaw?(): Promise<RawPeer>;
  /**
   * False for a transport that does not go over TCP (a MessageChannel, a worker): the two
   * tests that open a closed port and a listener that never answers then use `refusedUrl`
   * and `silentUrl`, and are skipped, saying why, where those are not given. Default true.
   */
  tcp?: boolean;
  /** A URL where nothing answers: `open()` must fail. Default: a closed port on 127.0.0.1. */
  refusedUrl?(): Promise<string>;
  /**
   * A URL that takes the connection but never completes the handshake, and how to stop it.
   * Default: a TCP listener on 127.0.0.1 that accepts and says nothing.
   */
  silentUrl?(): Promise<{
    /** The URL to open. */
    url: string;
    /** Closes the listener. */
    stop(): Promise<void>;
  }>;
}

type Problem = { code: string; message: string };

/**
 * How long a wait of the suite lasts before it fails with what the end saw: under vitest's
 * default test timeout (5 s), so a lost message reads as "2 of 3 messages arrived, last: …",
 * not as a bare timeout. A transport on loopback answers in milliseconds.
 */
export const TRANSPORT_WAIT_MS = 4_000;

// Taken at import: a test that fakes timers must not stop the suite's own deadline.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Runs `wait`, and fails after `ms` with `what` and the `report()` then. */
export function withDeadline<T>(
  wait: Promise<T>,
  what: string,
  report: () => string,
  ms = TRANSPORT_WAIT_MS,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = realSetTimeout(() => reject(new Error(`no ${what} within ${ms} ms; ${report()}`)), ms);
  });
  return Promise.race([wait, deadline]).finally(() => realClearTimeout(timer));
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Records everything one connection end reports, and lets tests await it. */
export class End {
  readonly messages: unknown[] = [];
  readonly invalid: Problem[] = [];
  readonly errors: Error[] = [];
  readonly closes: CloseInfo[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly connection: TransportConnection) {
    connection.onMessage((message) => this.record(this.messages, message));
    connection.onInvalidMessage((problem) => this.record(this.invalid, problem));
    connection.onError((error) => this.record(this.errors, error));
    connection.onClose((info) => this.record(this.closes, info));
  }

  /** What this end saw so far, for a failed wait. */
  report(): string {
    const last = this.messages.at(-1);
    return [
      `${this.messages.length} message(s)${last === undefined ? '' : `, last ${shown(last)}`}`,
      `${this.invalid.length} invalid`,
      `${this.errors.length} error(s)${this.errors.length ? ` (${this.errors.at(-1)!.message})` : ''}`,
      this.closes.length ? `closed ${shown(this.closes[0])}` : 'not closed',
      `isOpen ${this.connection.isOpen}`,
    ].join(', ');
  }

  /**
   * Resolves once `condition` holds, checked after each recorded event; fails after
   * `TRANSPORT_WAIT_MS` naming `what` and what the end saw.
   */
  until(condition: () => boolean, what = 'awaited state', ms = TRANSPORT_WAIT_MS): Promise<void> {
    if (condition()) return Promise.resolve();
    let check: (() => void) | undefined;
    const reached = new Promise<void>((resolve) => {
      check = () => {
        if (!condition()) return;
        this.waiters.delete(check!);
        resolve();
      };
      this.waiters.add(check);
    });
    return withDeadline(reached, what, () => this.report(), ms).finally(() =>
      this.waiters.delete(check!),
    );
  }

  /** The first `count` messages, once they have all arrived. */
  async received(count: number): Promise<unknown[]> {
    await this.until(() => this.messages.length >= count, `arrival of ${count} message(s)`);
    return this.messages.slice(0, count);
  }

  /** The close, once it has been reported. */
  async closed(): Promise<CloseInfo> {
    await this.until(() => this.closes.length > 0, 'close');
    return this.closes[0]!;
  }

  private record<T>(list: T[], value: T): void {
    list.push(value);
    for (const check of [...this.waiters]) check();
  }
}

/** The two ends of one connection, and what the server half knew about it. */
export interface Pair {
  client: End;
  server: End;
  info: IncomingConnectionInfo;
}

/**
 * Owns the running test's setup: records every connection the server half accepts, opens
 * client connections on request, and closes everything after the test.
 */
export class TransportHarness {
  private setup: TransportSetup | undefined;
  private readonly accepted: Array<{ end: End; info: IncomingConnectionInfo }> = [];
  private readonly acceptWaiters = new Set<() => void>();
  private readonly clients: End[] = [];
  private readonly raws: RawPeer[] = [];

  constructor(private readonly factory: () => Promise<TransportSetup>) {}

  private get current(): TransportSetup {
    if (!this.setup) throw new Error('the transport suite has no setup outside a test');
    return this.setup;
  }

  get transport(): Transport {
    return this.current.transport;
  }
  get server(): TransportServer {
    return this.current.server;
  }
  get url(): string {
    return this.current.url;
  }
  get maxFrameBytes(): number {
    return this.current.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }
  get upgradeHeaders(): boolean {
    return this.current.upgradeHeaders ?? true;
  }
  /** The setup's own hooks for the two failure tests that need somewhere to fail. */
  get failureHooks(): Pick<TransportSetup, 'tcp' | 'refusedUrl' | 'silentUrl'> {
    const { tcp, refusedUrl, silentUrl } = this.current;
    return { tcp, refusedUrl, silentUrl };
  }
  get canOpenRaw(): boolean {
    return this.current.openRaw !== undefined;
  }
  /** How many connections the server half has handed over in this test. */
  get acceptedCount(): number {
    return this.accepted.length;
  }

  async create(): Promise<void> {
    this.accepted.length = 0;
    this.clients.length = 0;
    this.raws.length = 0;
    this.setup = await this.factory();
    this.setup.server.onConnection((connection, info) => {
      this.accepted.push({ end: new End(connection), info });
      for (const check of [...this.acceptWaiters]) check();
    });
  }

  async destroy(): Promise<void> {
    const setup = this.setup;
    this.setup = undefined;
    for (const client of this.clients) client.connection.close();
    await Promise.all(this.clients.map((client) => client.closed()));
    await Promise.all(this.raws.map((raw) => raw.close()));
    await setup?.teardown();
  }

  /** The server end of the `index`-th accepted connection (from 0), once it exists. */
  async acceptedAt(index: number): Promise<{ end: End; info: IncomingConnectionInfo }> {
    if (this.accepted.length <= index) {
      let check: (() => void) | undefined;
      const accepted = new Promise<void>((resolve) => {
        check = () => {
          if (this.accepted.length <= index) return;
          this.acceptWaiters.delete(check!);
          resolve();
        };
        this.acceptWaiters.add(check);
      });
      await withDeadline(
        accepted,
        `connection number ${index + 1} accepted by the server half`,
        () => `it accepted ${this.accepted.length}; clients opened: ${this.clients.length}`,
      ).finally(() => this.acceptWaiters.delete(check!));
    }
    return this.accepted[index]!;
  }

  /** Opens a client connection and pairs it with the server end it produced. */
  async connect(options?: TransportOpenOptions): Promise<Pair> {
    const index = this.accepted.length;
    const connection = await this.transport.open(this.url, options);
    const client = new End(connection);
    this.clients.push(client);
    const { end, info } = await this.acceptedAt(index);
    return { client, server: end, info };
  }

  /** Opens a raw peer; the caller has checked `canOpenRaw`. */
  async openRaw(): Promise<{ raw: RawPeer; server: End }> {
    const openRaw = this.current.openRaw;
    if (!openRaw) throw new Error('this setup has no openRaw()');
    const index = this.accepted.length;
    const raw = await openRaw();
    this.raws.push(raw);
    const { end } = await this.acceptedAt(index);
    return { raw, server: end };
  }
}

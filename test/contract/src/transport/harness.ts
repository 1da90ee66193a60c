import type {
  CloseInfo,
  IncomingConnectionInfo,
  Transport,
  TransportConnection,
  TransportOpenOptions,
  TransportServer,
} from '@local-first/core';
import { DEFAULT_MAX_FRAME_BYTES } from '@local-first/core';

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
  /** Where `transport.open(url)` reaches `server`: a real server on 127.0.0.1, port 0. */
  url: string;
  /** The server half, attached to that server; the suite registers its own handlers. */
  server: TransportServer;
  /** Closes the server half and the HTTP server. The suite has closed its clients first. */
  teardown(): Promise<void>;
  /** The server's frame limit in bytes, as configured. Default `DEFAULT_MAX_FRAME_BYTES`. */
  maxFrameBytes?: number;
  /** Whether `open()` can send headers on the upgrade (Node: yes; browsers: no). Default true. */
  upgradeHeaders?: boolean;
  /** Opens a raw peer to `url`; without it the invalid-frame tests are skipped. */
  openRaw?(): Promise<RawPeer>;
}

type Problem = { code: string; message: string };

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

  /** Resolves once `condition` holds, checked after each recorded event. */
  until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** The first `count` messages, once they have all arrived. */
  async received(count: number): Promise<unknown[]> {
    await this.until(() => this.messages.length >= count);
    return this.messages.slice(0, count);
  }

  /** The close, once it has been reported. */
  async closed(): Promise<CloseInfo> {
    await this.until(() => this.closes.length > 0);
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
      await new Promise<void>((resolve) => {
        const check = () => {
          if (this.accepted.length <= index) return;
          this.acceptWaiters.delete(check);
          resolve();
        };
        this.acceptWaiters.add(check);
      });
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

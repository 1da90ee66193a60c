import { connect } from 'node:net';
import { ERROR_CODES, LocalFirstError, type Transport } from '@local-first/core';
import type { TransportConnection, TransportOpenOptions } from '@local-first/core/adapter';
import { NdjsonConnection } from './connection.js';

/** How long `open()` waits for the server's `welcome` when the caller gives no `timeoutMs`. */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
/** How long a close waits for the peer to end its side before the socket is cut. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/**
 * Longest line a client takes. Far above the server's own limit on what it takes: the server
 * cuts catch-up pages by event count (`maxPageEvents`), not by bytes, so a page of large
 * events can pass 1 MiB.
 */
export const DEFAULT_CLIENT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Options of `NdjsonTransport`. */
export interface NdjsonTransportOptions {
  /** Handshake timeout when `open()` gets no `timeoutMs`. Default `DEFAULT_OPEN_TIMEOUT_MS`. */
  openTimeoutMs?: number;
  /** See `DEFAULT_CLOSE_TIMEOUT_MS`. */
  closeTimeoutMs?: number;
  /** See `DEFAULT_CLIENT_MAX_FRAME_BYTES`. */
  maxFrameBytes?: number;
}

/**
 * The client half of the NDJSON transport: it opens `tcp://host:port` and sends its headers in
 * a `hello` line (TCP has no upgrade request to carry them). `open()` resolves once the server
 * answered `welcome`. It never reconnects: that is the strategy's job.
 */
export class NdjsonTransport implements Transport {
  readonly name = 'ndjson';
  private readonly openTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly maxFrameBytes: number;

  constructor(options: NdjsonTransportOptions = {}) {
    this.openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_CLIENT_MAX_FRAME_BYTES;
  }

  open(url: string, options: TransportOpenOptions = {}): Promise<TransportConnection> {
    const timeoutMs = options.timeoutMs ?? this.openTimeoutMs;
    let address: { host: string; port: number };
    try {
      address = parseTcpUrl(url);
    } catch (error) {
      return Promise.reject(failure(url, (error as Error).message, error));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const connection = new NdjsonConnection(connect(address), {
        side: 'client',
        maxFrameBytes: this.maxFrameBytes,
        closeTimeoutMs: this.closeTimeoutMs,
        headers: options.headers,
        onOpen: () => settle(() => resolve(connection)),
        onRefused: (cause) => settle(() => reject(failure(url, 'the connection failed', cause))),
      });
      const timer = setTimeout(() => {
        const cause = new Error(`no welcome within ${timeoutMs} ms`);
        settle(() => reject(failure(url, cause.message, cause)));
        connection.abort(cause);
      }, timeoutMs);
    });
  }
}

/** `tcp://host:port` → where to connect; IPv6 hosts come in brackets (`tcp://[::1]:9000`). */
export function parseTcpUrl(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  if (parsed.protocol !== 'tcp:') throw new Error('the URL must start with tcp://');
  const port = Number(parsed.port);
  if (!Number.isInteger(port) || port < 1) throw new Error('the URL must name a port');
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

function failure(url: string, why: string, cause: unknown): LocalFirstError {
  return new LocalFirstError(ERROR_CODES.connectionFailed, `cannot open ${url}: ${why}`, {
    cause,
    details: { url },
  });
}

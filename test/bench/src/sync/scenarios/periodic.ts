/**
 * The periodic strategy beside the WebSocket one: how long a write takes to reach other
 * clients that pull on an interval, and what an idle client of each kind costs on the wire.
 *
 * Latency: one writer and `readers` readers, all periodic with the given interval and push
 * delay; the readers start spread evenly over one interval, so their rounds fall at every
 * phase of the writer's. Each write is timed from its `upsert` to each reader's `watch`
 * showing it; the next write starts once every reader has it.
 *
 * Idle traffic, after that: a periodic client and a WebSocket client (default heartbeat), each with one
 * repository nobody writes to, for `idleMs`; requests and bytes (periodic), frames and bytes
 * (WebSocket, both directions) per minute.
 */
import { LocalFirstClient, Repository, type Transport } from '@local-first/core';
import type { TransportConnection } from '@local-first/core/adapter';
import { PeriodicSyncStrategy } from '@local-first/periodic';
import { MemoryStorageAdapter } from '@local-first/storage-memory';
import { WsTransport } from '@local-first/transport-ws';
import { WebSocketSyncStrategy } from '@local-first/websocket';
import WebSocket from 'ws';
import type { OurServer } from '../processes.js';
import { type Distribution, distribution, sleep } from '../stats.js';
import { type BenchRecord, makeRecord } from '../workload.js';

export interface PeriodicSizes {
  intervalMs: number;
  pushDelayMs: number;
  readers: number;
  writes: number;
  idleMs: number;
}

export interface PeriodicResult {
  sizes: PeriodicSizes;
  latencyMs: Distribution;
  idle: {
    periodicRequestsPerMinute: number;
    periodicBytesPerMinute: number;
    webSocketFramesPerMinute: number;
    webSocketBytesPerMinute: number;
  };
}

/** Bytes and requests a `fetch` carried, both ways (bodies and the answer's length). */
class CountingFetch {
  requests = 0;
  bytes = 0;
  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    this.requests += 1;
    if (typeof init.body === 'string') this.bytes += Buffer.byteLength(init.body);
    const response = await globalThis.fetch(input, init);
    const text = await response.text();
    this.bytes += Buffer.byteLength(text);
    return new Response(text, { status: response.status, headers: response.headers });
  };
}

/** Frames and bytes a transport's connections carried, both ways. */
class CountingTransport implements Transport {
  readonly name = 'counting-ws';
  frames = 0;
  bytes = 0;
  private readonly inner = new WsTransport({ WebSocket });

  async open(url: string, options?: Parameters<Transport['open']>[1]) {
    const connection: TransportConnection = await this.inner.open(url, options);
    connection.onMessage((message) => {
      this.frames += 1;
      this.bytes += Buffer.byteLength(JSON.stringify(message));
    });
    const send = connection.send.bind(connection);
    connection.send = (message: object) => {
      this.frames += 1;
      this.bytes += Buffer.byteLength(JSON.stringify(message));
      send(message);
    };
    return connection;
  }
}

async function periodicDevice(server: OurServer, repositoryName: string, sizes: PeriodicSizes) {
  const counting = new CountingFetch();
  const repository = new Repository<BenchRecord>({ name: repositoryName });
  const strategy = new PeriodicSyncStrategy({
    baseUrl: server.origin,
    fetch: counting.fetch,
    syncInterval: sizes.intervalMs,
    pushDelay: sizes.pushDelayMs,
  });
  const client = new LocalFirstClient({
    repositories: [repository],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [strategy],
  });
  await client.initialize();
  return { client, repository, strategy, counting };
}

/** Resolves when the repository holds the record, with the time it first did. */
function arrival(repository: Repository<BenchRecord>, id: string): Promise<number> {
  return new Promise((resolve) => {
    let stop: (() => void) | undefined;
    let done = false;
    stop = repository
      .query()
      .watch()
      .subscribe((items) => {
        if (done || !items.some((item) => item.id === id)) return;
        done = true;
        const at = performance.now();
        queueMicrotask(() => stop?.());
        resolve(at);
      });
    if (done) stop();
  });
}

async function latency(server: OurServer, sizes: PeriodicSizes): Promise<Distribution> {
  const repositoryName = 'periodic_latency';
  const writer = await periodicDevice(server, repositoryName, sizes);
  const readers: Awaited<ReturnType<typeof periodicDevice>>[] = [];
  for (let index = 0; index < sizes.readers; index++)
    readers.push(await periodicDevice(server, repositoryName, sizes));
  await writer.client.start();
  for (const reader of readers) {
    await reader.client.start();
    await sleep(sizes.intervalMs / sizes.readers);
  }
  const samples: number[] = [];
  const deadline = 3 * (sizes.intervalMs + sizes.pushDelayMs) + 5_000;
  try {
    for (let write = 0; write < sizes.writes; write++) {
      const record = makeRecord('periodic', write);
      const arrivals = readers.map((reader) => arrival(reader.repository, record.id));
      const started = performance.now();
      await writer.repository.upsert(record);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void writer.client.getPendingEvents().then((pending) => {
            const arrived = readers.filter(
              (reader) => reader.strategy.connectionState === 'connected',
            );
            reject(
              new Error(
                `periodic latency: write ${write} had not reached every reader after ${deadline} ms ` +
                  `(writer: ${pending.length} pending, ${writer.strategy.connectionState}; ` +
                  `${arrived.length} of ${readers.length} readers connected)`,
              ),
            );
          });
        }, deadline);
      });
      const times = await Promise.race([Promise.all(arrivals), late]);
      clearTimeout(timer);
      for (const at of times) samples.push(at - started);
    }
  } finally {
    await writer.client.dispose();
    for (const reader of readers) await reader.client.dispose();
  }
  return distribution(samples);
}

async function idleTraffic(server: OurServer, sizes: PeriodicSizes) {
  const periodic = await periodicDevice(server, 'periodic_idle', sizes);
  const transport = new CountingTransport();
  const repository = new Repository<BenchRecord>({ name: 'websocket_idle' });
  const socket = new WebSocketSyncStrategy({
    websocketUrl: `${server.origin.replace(/^http/, 'ws')}/sync`,
    transport,
  });
  const webSocket = new LocalFirstClient({
    repositories: [repository],
    localStorage: new MemoryStorageAdapter(),
    syncStrategies: [socket],
  });
  await webSocket.initialize();
  await periodic.client.start();
  await webSocket.start();
  // What connecting costs is not idle traffic: counted from the first round / catch-up on.
  await periodic.strategy.whenSynced(10_000);
  await socket.whenSynced(10_000);
  const start = { requests: periodic.counting.requests, bytes: periodic.counting.bytes };
  const startWs = { frames: transport.frames, bytes: transport.bytes };
  await sleep(sizes.idleMs);
  const minutes = sizes.idleMs / 60_000;
  const result = {
    periodicRequestsPerMinute: (periodic.counting.requests - start.requests) / minutes,
    periodicBytesPerMinute: (periodic.counting.bytes - start.bytes) / minutes,
    webSocketFramesPerMinute: (transport.frames - startWs.frames) / minutes,
    webSocketBytesPerMinute: (transport.bytes - startWs.bytes) / minutes,
  };
  await periodic.client.dispose();
  await webSocket.dispose();
  return result;
}

/**
 * One after the other: the server sends a socket the live events of every repository its
 * account may read, so writes of the latency run would count as the idle socket's traffic.
 */
export async function periodicSync(
  server: OurServer,
  sizes: PeriodicSizes,
): Promise<PeriodicResult> {
  const latencyMs = await latency(server, sizes);
  const idle = await idleTraffic(server, sizes);
  return { sizes, latencyMs, idle };
}

/**
 * The worker roles of the load scenarios (see worker.ts for the protocol with the benchmark):
 *
 * - `writers-ours`: many raw connections, each pushing one event and waiting for its ack, again
 *   and again, for a while: acked events per second and ack latency under concurrency.
 * - `bulk-ours`: one raw connection pushing many events in batches, a few batches in flight.
 * - `slow-reader-ours` / `slow-reader-yjs`: one connection that subscribes, then stops reading
 *   its socket until told `resume`; then reads everything (ours: from its cursor, after
 *   `lagging` or a 4413) and reports how many events it ends up with.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { ChildMessage } from './processes.js';
import { distribution } from './stats.js';
import { isYjsUpdateFrame, openMany, openRawSession, openYjsListener } from './workload.js';

type Send = (message: ChildMessage) => void;

/** A slow reader reports what it has after this long, whether or not it has everything. */
const GIVE_UP_MS = 120_000;
type Message = { type: string; [field: string]: unknown };

export interface WritersParameters {
  url: string;
  name: string;
  writers: number;
  durationMs: number;
  payloadBytes: number;
}

export interface BulkParameters {
  url: string;
  name: string;
  events: number;
  batch: number;
  inFlight: number;
  payloadBytes: number;
}

export interface SlowReaderParameters {
  url: string;
  name: string;
  expected: number;
}

function event(id: string, payload: string) {
  return {
    eventId: id,
    operation: 0,
    createdAt: new Date().toISOString(),
    dataId: id,
    data: { id, payload },
  };
}

/** A message from the benchmark of this type (`go`, `resume`). */
export function nextCommand(type: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (message: ChildMessage) => {
      if (message.type !== type) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });
}

export async function concurrentWriters(options: WritersParameters, send: Send) {
  const answers: ((message: Message) => void)[] = [];
  // Every writer also gets the others' events live; they are skipped unparsed, so the
  // benchmark's own client does not become the bottleneck.
  const broadcast = Buffer.from('{"type":"events"');
  const sockets = await openMany(options.writers, 50, (index) =>
    openRawSession(
      options.url,
      `writer-${process.pid}-${index}`,
      (message) => answers[index]?.(message),
      (data) =>
        data.length > broadcast.length && data.subarray(0, broadcast.length).equals(broadcast),
    ),
  );
  const payload = 'x'.repeat(options.payloadBytes);
  send({ type: 'ready', opened: sockets.length });
  await nextCommand('go');
  const latencies: number[] = [];
  let failed = 0;
  const began = performance.now();
  const end = began + options.durationMs;
  await Promise.all(
    sockets.map(async (socket, index) => {
      // A writer cut off (4429 past the rate limit, say) stops; the result counts what it got.
      socket.on('close', () => answers[index]?.({ type: 'closed' }));
      for (let n = 0; performance.now() < end && socket.readyState === WebSocket.OPEN; n++) {
        const id = `w-${process.pid}-${index}-${n}`;
        const acked = new Promise<Message>((resolve) => {
          answers[index] = (message) => {
            if (message.type === 'ack' || message.type === 'error' || message.type === 'closed')
              resolve(message);
          };
        });
        const started = performance.now();
        socket.send(
          JSON.stringify({
            type: 'push_events_batch',
            repository: options.name,
            requestId: id,
            events: [event(id, payload)],
          }),
        );
        const answer = await acked;
        if (answer.type !== 'ack' || !(answer.eventIds as string[]).includes(id)) failed += 1;
        else latencies.push(performance.now() - started);
      }
    }),
  );
  const elapsedMs = performance.now() - began;
  send({
    type: 'result',
    acked: latencies.length,
    failed,
    elapsedMs,
    latencyMs: distribution(latencies),
  });
  return sockets;
}

export async function bulkWriter(options: BulkParameters, send: Send) {
  const waiting = new Map<string, () => void>();
  const socket = await openRawSession(options.url, `bulk-${process.pid}`, (message) => {
    if (message.type === 'ack' || message.type === 'error')
      waiting.get(String(message.requestId))?.();
  });
  const payload = 'x'.repeat(options.payloadBytes);
  send({ type: 'ready', opened: 1 });
  await nextCommand('go');
  const began = performance.now();
  let next = 0;
  const pushOne = async (): Promise<void> => {
    while (next < options.events) {
      const first = next;
      next = Math.min(options.events, next + options.batch);
      const requestId = `b${first}`;
      const events = [];
      for (let index = first; index < next; index++) events.push(event(`e${index}`, payload));
      const done = new Promise<void>((resolve) => waiting.set(requestId, resolve));
      socket.send(
        JSON.stringify({ type: 'push_events_batch', repository: options.name, requestId, events }),
      );
      await done;
      waiting.delete(requestId);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, pushOne));
  send({ type: 'result', elapsedMs: performance.now() - began });
  return [socket];
}

function tcpSocketOf(socket: WebSocket): Socket {
  return (socket as unknown as { _socket: Socket })._socket;
}

/** Ours: subscribe, stop reading, then read everything back from the cursor. */
export async function slowReaderOurs(options: SlowReaderParameters, send: Send) {
  const sequences = new Set<number>();
  let cursor = 0;
  let lagging = 0;
  let cuts = 0;
  let synced: (() => void) | undefined;
  let socket: WebSocket;
  const onMessage = (message: Message) => {
    if (message.type === 'events') {
      for (const stored of message.events as { serverSequence: number }[])
        sequences.add(stored.serverSequence);
      while (sequences.has(cursor + 1)) cursor += 1;
    } else if (message.type === 'lagging') {
      lagging += 1;
      request();
    } else if (message.type === 'sync_complete') synced?.();
  };
  const request = () =>
    socket.send(
      JSON.stringify({ type: 'request_events', repository: options.name, afterSequence: cursor }),
    );
  const connect = async () => {
    socket = await openRawSession(options.url, `slow-${process.pid}`, onMessage);
    socket.on('close', (code) => {
      if (code !== 4413) return;
      // Too far behind: connect again and catch up, as the strategy does.
      cuts += 1;
      void connect().then(request);
    });
  };
  await connect();
  const first = new Promise<void>((resolve) => {
    synced = resolve;
  });
  request();
  await first;
  tcpSocketOf(socket!).pause();
  send({ type: 'ready', opened: 1 });
  await nextCommand('resume');
  const began = performance.now();
  tcpSocketOf(socket!).resume();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (cursor < options.expected && performance.now() - began < GIVE_UP_MS) return;
      clearInterval(check);
      resolve();
    }, 20);
  });
  send({
    type: 'result',
    count: sequences.size,
    cursor,
    lagging,
    cuts,
    catchUpMs: performance.now() - began,
  });
  return [socket!];
}

/** Yjs: a raw listener of the room that stops reading after its first frame. */
export async function slowReaderYjs(options: SlowReaderParameters, send: Send) {
  let updates = 0;
  let closed = false;
  const socket = await openYjsListener(options.url, options.name, (data) => {
    if (isYjsUpdateFrame(data)) updates += 1;
  });
  socket.on('close', () => {
    closed = true;
  });
  tcpSocketOf(socket).pause();
  send({ type: 'ready', opened: 1 });
  await nextCommand('resume');
  const began = performance.now();
  tcpSocketOf(socket).resume();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (updates < options.expected && !closed && performance.now() - began < GIVE_UP_MS) return;
      clearInterval(check);
      resolve();
    }, 20);
  });
  send({ type: 'result', count: updates, closed, catchUpMs: performance.now() - began });
  return [socket];
}

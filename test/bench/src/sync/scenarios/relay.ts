/**
 * The baseline: the same frames through a raw `ws` relay, with no storage, no protocol and no
 * acknowledgement. Each frame is a JSON push of one event exactly as our strategy sends it.
 */
import { randomId, uuidv7 } from '@local-first/core';
import { HybridLogicalClock } from '@local-first/core/adapter';
import WebSocket from 'ws';
import { type CostReport, withCost } from '../measure.js';
import type { RelayServer } from '../processes.js';
import { closeSockets, makeRecord } from '../workload.js';

const clock = new HybridLogicalClock({ nodeId: randomId() });

/** Frame `index`: `push_events_batch` with one event, as our strategy puts it on the wire. */
export function relayMessage(index: number): string {
  const record = makeRecord('relay', index);
  const wall = Date.now();
  return JSON.stringify({
    type: 'push_events_batch',
    repository: 'relay',
    events: [
      {
        eventId: uuidv7(wall),
        operation: 0,
        createdAt: new Date(wall).toISOString(),
        dataId: record.id,
        data: record,
        hlc: clock.now(),
      },
    ],
  });
}

export function openRelaySocket(url: string, onFrame: (data: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('error', reject);
    socket.once('open', () => resolve(socket));
    socket.on('message', (data) => onFrame(String(data)));
  });
}

export interface RelayThroughputResult {
  messages: number;
  messagesPerSecond: number;
  frameBytes: number;
  cost: CostReport;
}

/** A sends `messages` frames back to back; B parses each; until B has the last one. */
export async function relayThroughput(
  relay: RelayServer,
  messages: number,
): Promise<RelayThroughputResult> {
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const sender = await openRelaySocket(relay.url, () => undefined);
  const receiver = await openRelaySocket(relay.url, (data) => {
    JSON.parse(data);
    if (++received === messages) done();
  });
  const frames = Array.from({ length: messages }, (_, index) => relayMessage(index));
  try {
    const { cost } = await withCost(relay.child, async () => {
      for (let index = 0; index < messages; index++) {
        sender.send(frames[index]!);
        // Let the socket drain now and then, as the writers of the other scenarios do.
        if (index % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
      }
      await all;
    });
    return {
      messages,
      messagesPerSecond: messages / (cost.wallMs / 1000),
      frameBytes: Buffer.byteLength(frames[0]!),
      cost,
    };
  } finally {
    await closeSockets([sender, receiver]);
  }
}

export type { CostReport };

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEngine } from '../strategy-fixtures.js';
import { Link, type LinkObserver, SOCKET_BUFFER_BYTES } from './link.js';

// The model's link must hold output the way a real socket does: a dead direction never drains,
// so a server writing into a half-open link sees its output pile up and must act on it.

const quiet: LinkObserver = { clientSent() {}, clientReceived() {} };
const options = { latencyMs: 20, serverMaxFrameBytes: 1024 * 1024 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function event(id: string) {
  return {
    eventId: id,
    operation: 0,
    createdAt: new Date().toISOString(),
    dataId: id,
    data: { id, text: 'x'.repeat(4_000) },
  };
}

describe('the model link', () => {
  it('reports unsent output past the socket buffer, drained on arrival, never on a dead direction', async () => {
    const link = new Link(1, options, quiet);
    const frame = { type: 'events', text: 'x'.repeat(100_000) };
    for (let index = 0; index < 4; index++) link.server.send(frame);
    const queued = link.server.bufferedBytes;
    expect(queued).toBeGreaterThan(400_000 - SOCKET_BUFFER_BYTES - 1_000);
    await vi.advanceTimersByTimeAsync(options.latencyMs);
    expect(link.server.bufferedBytes).toBe(0);
    link.cut(['down']);
    for (let index = 0; index < 4; index++) link.server.send(frame);
    await vi.advanceTimersByTimeAsync(10 * options.latencyMs);
    expect(link.server.bufferedBytes).toBe(queued);
  });

  it('lets the server cut off a reader on a half-open link: no live events past the mark, then 4413', async () => {
    const { engine } = await makeEngine({
      limits: { sendHighWaterBytes: 64 * 1024, lagCheckIntervalMs: 50, pingIntervalMs: 0 },
    });
    const reader = new Link(1, { ...options, socketBufferBytes: 16 * 1024 }, quiet);
    const writer = new Link(2, options, quiet);
    const closes: number[] = [];
    reader.client.onClose(({ code }) => closes.push(code));
    // What the server hands the reader's link: on a dead direction nothing arrives, so the
    // count is taken where the server sends.
    let live = 0;
    const send = reader.server.send.bind(reader.server);
    reader.server.send = (message: object) => {
      if ((message as { type: string; requestId?: string }).type === 'events') live += 1;
      send(message);
    };
    for (const link of [reader, writer])
      engine.accept(link.server, { headers: {}, remoteAddress: '10.0.0.2', transport: 'model' });
    reader.client.send({ type: 'auth', token: 'token-bob' });
    writer.client.send({ type: 'auth', token: 'token-alice' });
    await vi.advanceTimersByTimeAsync(3 * options.latencyMs);
    reader.cut(['down']);
    for (let index = 0; index < 200; index++) {
      writer.client.send({
        type: 'push_events_batch',
        repository: 'notes',
        requestId: `p${index}`,
        events: [event(`e${index}`)],
      });
    }
    await vi.advanceTimersByTimeAsync(70_000);
    const sent = reader.server.unreceived;
    // Held to the mark plus a frame over the kernel's share, then closed after lagTimeoutMs.
    expect({ sentKb: Math.round(sent / 1024) < 64 + 16 + 8, open: reader.server.isOpen }).toEqual({
      sentKb: true,
      open: false,
    });
    // Live events stop once the output is past the mark: far fewer than the 200 pushes.
    expect(live).toBeLessThan(40);
    expect(reader.server.closedByThisEnd?.info.code).toBe(4413);
    await engine.close();
  });
});

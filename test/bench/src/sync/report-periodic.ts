/** The rows and note of the periodic scenario (section 11 of the table). */
import type { Row } from './report.js';
import type { LatencyResult } from './scenarios/latency.js';
import type { PeriodicResult } from './scenarios/periodic.js';

const KB = 1024;

export function periodicRows(periodic: PeriodicResult, webSocket: LatencyResult): Row[] {
  const { latencyMs, idle, sizes } = periodic;
  const interval = `${sizes.intervalMs / 1000} s interval`;
  return [
    {
      section: '11',
      label: `periodic (REST), ${interval}: write → other client's watch p50 (ws beside it)`,
      unit: 'ms',
      ours: latencyMs.p50,
      relay: webSocket.latencyMs.p50,
    },
    {
      section: '11',
      label: '… p99',
      unit: 'ms',
      ours: latencyMs.p99,
      relay: webSocket.latencyMs.p99,
    },
    {
      section: '11',
      label: '… max',
      unit: 'ms',
      ours: latencyMs.max,
      target: {
        text: `≤ push delay + interval + 1 s`,
        met: latencyMs.max <= sizes.pushDelayMs + sizes.intervalMs + 1_000,
      },
    },
    {
      section: '11',
      label: `idle periodic client, one repository, ${interval}: requests per minute`,
      unit: 'count',
      ours: idle.periodicRequestsPerMinute,
    },
    {
      section: '11',
      label: '… its bytes per minute, both ways (ws client with its heartbeat beside it)',
      unit: 'KB',
      ours: idle.periodicBytesPerMinute / KB,
      relay: idle.webSocketBytesPerMinute / KB,
    },
    {
      section: '11',
      label: 'idle WebSocket client: frames per minute, both ways',
      unit: 'count',
      ours: idle.webSocketFramesPerMinute,
    },
  ];
}

export function periodicNote(periodic: PeriodicResult): string {
  const { sizes } = periodic;
  return (
    `Periodic: ${sizes.readers} readers and one writer, all periodic (REST) with the strategy's defaults ` +
    `(sync interval ${sizes.intervalMs} ms, push delay ${sizes.pushDelayMs} ms), readers started spread over one interval; ` +
    `${sizes.writes} writes, each timed to every reader (${sizes.writes * sizes.readers} samples). In the "raw relay" column ` +
    `of these rows: the WebSocket client's figure beside it. Idle traffic over ${sizes.idleMs / 1000} s, counted from the first ` +
    'completed round (periodic: request and answer bodies; WebSocket: JSON frames, heartbeat pings and pongs both ways); ' +
    'HTTP and WebSocket headers are not counted.'
  );
}

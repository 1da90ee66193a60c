import { between, deriveSeed, generator } from './random.js';

/** One fault of the plan, `atMs` after the writing starts. */
export type Fault =
  | { atMs: number; kind: 'cut'; client: number }
  | { atMs: number; kind: 'stall'; client: number; durationMs: number }
  | { atMs: number; kind: 'delay'; client: number; durationMs: number; latencyMs: number }
  | { atMs: number; kind: 'kill-server'; downMs: number }
  | { atMs: number; kind: 'kill-client'; client: number; downMs: number };

export interface FaultPlanOptions {
  seed: number;
  /** Faults happen within this window. */
  durationMs: number;
  /** Clients `0..count-1`; the first half speak raw ws, the second half socket.io. */
  clients: number;
  serverKills: number;
  clientKills: number;
  /** Pause between two link faults of one client, drawn in [min, max]. */
  linkFaultGapMs: readonly [number, number];
}

/** No fault in the first and last this many ms: the run starts and ends on working links. */
const MARGIN_MS = 1_000;

/**
 * The whole fault schedule of a run, from the seed alone. Each client's link gets faults of
 * its own at seeded gaps; server kills are spread one per equal slice of the window; client
 * kills alternate between a ws and a socket.io client, never the same one twice in a row.
 */
export function planFaults(options: FaultPlanOptions): Fault[] {
  const { durationMs, clients } = options;
  const faults: Fault[] = [];
  const end = durationMs - MARGIN_MS;
  for (let client = 0; client < clients; client++) {
    const random = generator(deriveSeed(options.seed, `link-faults:${client}`));
    let at = MARGIN_MS + between(random, 0, options.linkFaultGapMs[1]);
    while (at < end) {
      const roll = random();
      if (roll < 0.4) faults.push({ atMs: at, kind: 'cut', client });
      else if (roll < 0.7)
        faults.push({ atMs: at, kind: 'stall', client, durationMs: between(random, 1_000, 8_000) });
      else
        faults.push({
          atMs: at,
          kind: 'delay',
          client,
          durationMs: between(random, 1_000, 6_000),
          // Both directions are delayed: a round trip stays under the clients' pong timeout,
          // so a delayed link is slow, not dead.
          latencyMs: between(random, 20, 400),
        });
      at += between(random, options.linkFaultGapMs[0], options.linkFaultGapMs[1]);
    }
  }
  const servers = generator(deriveSeed(options.seed, 'server-kills'));
  const slice = (end - MARGIN_MS) / Math.max(1, options.serverKills);
  for (let kill = 0; kill < options.serverKills; kill++) {
    faults.push({
      atMs: Math.round(MARGIN_MS + slice * (kill + 0.2 + 0.6 * servers())),
      kind: 'kill-server',
      downMs: between(servers, 0, 1_500),
    });
  }
  const devices = generator(deriveSeed(options.seed, 'client-kills'));
  const half = Math.max(1, Math.floor(clients / 2));
  const clientSlice = (end - MARGIN_MS) / Math.max(1, options.clientKills);
  let previous = -1;
  for (let kill = 0; kill < options.clientKills; kill++) {
    const group = kill % 2 === 0 ? 0 : half;
    const size = kill % 2 === 0 ? half : clients - half;
    let client = group + Math.floor(devices() * size);
    if (client === previous && size > 1) client = group + ((client - group + 1) % size);
    previous = client;
    faults.push({
      atMs: Math.round(MARGIN_MS + clientSlice * (kill + 0.1 + 0.8 * devices())),
      kind: 'kill-client',
      client,
      downMs: between(devices, 200, 2_000),
    });
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** One line per kind, for the log: what the plan holds. */
export function describePlan(faults: readonly Fault[]): string {
  const count = (kind: Fault['kind']) => faults.filter((fault) => fault.kind === kind).length;
  return (
    `${count('cut')} cuts, ${count('stall')} stalls, ${count('delay')} delays, ` +
    `${count('kill-server')} server kills, ${count('kill-client')} client kills ` +
    `(${faults
      .filter((fault) => fault.kind === 'kill-server' || fault.kind === 'kill-client')
      .map((fault) =>
        fault.kind === 'kill-client'
          ? `c${fault.client + 1} at ${seconds(fault.atMs)}`
          : `server at ${seconds(fault.atMs)}`,
      )
      .join(', ')})`
  );
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

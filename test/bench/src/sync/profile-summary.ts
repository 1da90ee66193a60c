/**
 * Reads a V8 CPU profile (`node --cpu-prof`, or `BENCH_CPU_PROF=DIR pnpm bench` for the child
 * processes) and prints where the time went: the functions with the most self time, and the
 * workspace functions with the most total time (self plus what they call).
 *
 *   node --import tsx src/sync/profile-summary.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FrameTime {
  frame: string;
  selfMs: number;
  totalMs: number;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '');
  const short = file.replace(/^.*\/work\/main\//, '');
  return `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
}

/** Self and total time per function (a recursive function counts once per sample). */
export function summarize(profile: Profile): FrameTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    const node = byId.get(id)!;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = frameName(byId.get(at)!);
      if (seen.has(frame)) continue;
      seen.add(frame);
      total.set(frame, (total.get(frame) ?? 0) + ms);
    }
  });
  return [...total.keys()].map((frame) => ({
    frame,
    selfMs: self.get(frame) ?? 0,
    totalMs: total.get(frame) ?? 0,
  }));
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const [file, topText = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [TOP]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const top = Number(topText);
  const frames = summarize(profile);
  const wall = (profile.endTime - profile.startTime) / 1000;
  const idle = frames.find((frame) => frame.frame.startsWith('(idle)'))?.selfMs ?? 0;
  const busy = wall - idle;
  const line = (frame: FrameTime) =>
    `${frame.selfMs.toFixed(0).padStart(8)} ${frame.totalMs.toFixed(0).padStart(8)}  ${frame.frame}`;
  console.log(`${file}: ${wall.toFixed(0)} ms profiled, ${busy.toFixed(0)} ms not idle`);
  console.log(`\n  self ms  total ms  — most self time`);
  for (const frame of [...frames].sort((a, b) => b.selfMs - a.selfMs).slice(0, top))
    console.log(line(frame));
  console.log(`\n  self ms  total ms  — workspace code, most total time`);
  for (const frame of frames
    .filter((frame) => /^(\S+) (core|adapters|strategies|examples)\//.test(frame.frame))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top))
    console.log(line(frame));
}

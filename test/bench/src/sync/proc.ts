/**
 * What the kernel knows about a process: resident memory and CPU time, read from /proc so the
 * measured programs need no hooks of their own.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Resident set now and its high-water mark, in bytes. */
export interface ResidentMemory {
  rss: number;
  hwm: number;
}

export function residentMemory(pid: number): ResidentMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: statusField(status, 'VmRSS'), hwm: statusField(status, 'VmHWM') };
}

function statusField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc status has no ${name}`);
  return Number(match[1]) * 1024;
}

/**
 * Resets the high-water mark of resident memory to the current resident set (writing 5 to
 * clear_refs, Linux 4.0+). Returns false where that is not allowed; peaks then come from sampling.
 */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU time a process has used, in milliseconds. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  return ((user + system) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Watches a process's resident memory while something runs: the peak is the larger of the
 * kernel's high-water mark (reset at the start) and the largest sample.
 */
export class MemoryWatch {
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly resetWorked: boolean;
  readonly startRss: number;
  private maxSampled: number;

  constructor(
    private readonly pid: number,
    intervalMs = 20,
  ) {
    this.resetWorked = resetPeakMemory(pid);
    this.startRss = residentMemory(pid).rss;
    this.maxSampled = this.startRss;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    try {
      this.maxSampled = Math.max(this.maxSampled, residentMemory(this.pid).rss);
    } catch {
      // The process has ended; keep what was seen.
    }
  }

  /** Stops watching; returns the resident set at the start and the peak since. */
  stop(): { startRss: number; peakRss: number } {
    clearInterval(this.timer);
    this.sample();
    let peak = this.maxSampled;
    if (this.resetWorked) {
      try {
        peak = Math.max(peak, residentMemory(this.pid).hwm);
      } catch {
        // ended
      }
    }
    return { startRss: this.startRss, peakRss: peak };
  }
}

/** CPU time of a process over an interval. */
export class CpuWatch {
  private readonly start: number;
  constructor(private readonly pid: number) {
    this.start = cpuTimeMs(pid);
  }
  stop(): number {
    return cpuTimeMs(this.pid) - this.start;
  }
}

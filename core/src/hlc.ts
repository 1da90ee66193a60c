import { ERROR_CODES, LocalFirstError } from './errors.js';

const WALL_DIGITS = 16;
const COUNTER_DIGITS = 5;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;

/** The two numbers of a stamp; the node id only breaks ties. */
export interface HlcState {
  /** Wall-clock milliseconds since 1970. */
  wall: number;
  /** Orders stamps issued within one millisecond. */
  counter: number;
}

/**
 * Formats a stamp as `WWWWWWWWWWWWWWWW:CCCCC:node`: fixed-width digits, so stamps order
 * correctly as plain strings on every platform and in every store.
 */
export function formatHlc(state: HlcState, nodeId: string): string {
  return `${String(state.wall).padStart(WALL_DIGITS, '0')}:${String(state.counter).padStart(COUNTER_DIGITS, '0')}:${nodeId}`;
}

/** Reads the wall time and counter of a stamp; `undefined` when it is not a stamp. */
export function parseHlc(stamp: string): HlcState | undefined {
  const match = /^(\d{16}):(\d{5}):/.exec(stamp);
  if (!match) return undefined;
  return { wall: Number(match[1]), counter: Number(match[2]) };
}

/**
 * True when `stamp` starts like one this clock formats (`16 digits:5 digits:`). Such stamps
 * order as plain strings, so the newest of many is their string maximum.
 */
export function isHlcStamp(stamp: string): boolean {
  if (stamp.length < WALL_DIGITS + COUNTER_DIGITS + 2) return false;
  for (let index = 0; index < WALL_DIGITS + COUNTER_DIGITS + 2; index++) {
    const code = stamp.charCodeAt(index);
    const colon = index === WALL_DIGITS || index === WALL_DIGITS + COUNTER_DIGITS + 1;
    if (colon ? code !== 58 : code < 48 || code > 57) return false;
  }
  return true;
}

const STAMP_FORMAT = /^\d{16}:\d{5}:[^:]+$/;

/**
 * Why a stamp is not one a replica may accept, or `undefined` when it is (protocol revision
 * 1.1): it must read `WWWWWWWWWWWWWWWW:CCCCC:node` and its wall time must not be more than
 * `maxDriftMs` ahead of `referenceMs`. A stamp far in the future would win every later
 * conflict on its record and drag every clock that saw it forward.
 */
export function stampProblem(
  stamp: string,
  referenceMs: number,
  maxDriftMs: number,
): string | undefined {
  if (!STAMP_FORMAT.test(stamp)) return 'hlc must read WWWWWWWWWWWWWWWW:CCCCC:node';
  return wallProblem(Number(stamp.slice(0, WALL_DIGITS)), referenceMs, maxDriftMs);
}

/** Why a wall time (ms) is too far ahead of `referenceMs`, or `undefined`. */
export function wallProblem(
  wallMs: number,
  referenceMs: number,
  maxDriftMs: number,
): string | undefined {
  if (wallMs - referenceMs <= maxDriftMs) return undefined;
  return `the stamp is ${Math.round((wallMs - referenceMs) / 1000)} s ahead of the server clock (at most ${Math.round(maxDriftMs / 1000)} s)`;
}

/** The stamp of a moment given as an ISO timestamp, for events that carry no `hlc`. */
export function hlcFromTimestamp(iso: string): string {
  const wall = Date.parse(iso);
  return formatHlc({ wall: Number.isFinite(wall) ? wall : 0, counter: 0 }, '');
}

function compareState(a: HlcState, b: HlcState): number {
  return a.wall !== b.wall ? a.wall - b.wall : a.counter - b.counter;
}

/**
 * A hybrid logical clock. Each stamp it issues is greater than every stamp it issued or saw
 * before, so a device whose wall clock runs behind still orders its new writes after what
 * it has received; when wall clocks agree, stamps follow them.
 */
export class HybridLogicalClock {
  /** The node id ending every stamp this clock issues; never contains `:`. */
  readonly nodeId: string;
  private readonly wallClock: () => number;
  private last: HlcState;

  constructor(options: { nodeId: string; now?: () => number; state?: HlcState }) {
    if (!options.nodeId || options.nodeId.includes(':')) {
      throw new LocalFirstError(
        ERROR_CODES.invalidArgument,
        'HybridLogicalClock needs a nodeId without ":"',
      );
    }
    this.nodeId = options.nodeId;
    this.wallClock = options.now ?? Date.now;
    this.last = options.state ?? { wall: 0, counter: 0 };
  }

  /** The state to persist, so a restart never issues a stamp it issued before. */
  get state(): HlcState {
    return { ...this.last };
  }

  /** Issues a new stamp for a local event. */
  now(): string {
    const wall = this.wallClock();
    if (wall > this.last.wall) {
      this.last = { wall, counter: 0 };
    } else if (this.last.counter < MAX_COUNTER) {
      this.last = { wall: this.last.wall, counter: this.last.counter + 1 };
    } else {
      this.last = { wall: this.last.wall + 1, counter: 0 };
    }
    return formatHlc(this.last, this.nodeId);
  }

  /**
   * Advances to a saved state if it is ahead: another client over the same store (another tab
   * of the app) issued stamps since this clock last looked.
   */
  catchUp(state: HlcState): void {
    if (compareState(state, this.last) > 0)
      this.last = { wall: state.wall, counter: state.counter };
  }

  /** Advances past a stamp seen on a remote event. Stamps that are not HLCs are ignored. */
  receive(stamp: string): void {
    const seen = parseHlc(stamp);
    if (seen && compareState(seen, this.last) > 0) this.last = seen;
  }
}

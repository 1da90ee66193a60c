/**
 * Which sequences of one repository a node has broadcast to its readers: every one up to
 * `known`, plus runs above it. A run above `known` sits on a hole: events another node
 * committed that this node has not read yet. Holes are filled by reading the log, so the runs
 * stay few (one per commit that overtook a read in progress).
 */
export class Coverage {
  /** Disjoint `[from, to]` runs, ascending, none touching `known` or each other. */
  private readonly runs: [number, number][] = [];

  constructor(private highest: number) {}

  /** The highest sequence below which nothing is missing. */
  get known(): number {
    return this.highest;
  }

  /** True when some sequence above `known` is covered while one below it is not. */
  get hasHoles(): boolean {
    return this.runs.length > 0;
  }

  /** True when `sequence` has been broadcast. */
  covers(sequence: number): boolean {
    if (sequence <= this.highest) return true;
    return this.runs.some(([from, to]) => from <= sequence && sequence <= to);
  }

  /** Marks `sequence` as broadcast; false when it already was. */
  cover(sequence: number): boolean {
    if (this.covers(sequence)) return false;
    let index = 0;
    while (index < this.runs.length && this.runs[index]![1] < sequence - 1) index += 1;
    const run = this.runs[index];
    if (run && run[1] === sequence - 1) {
      run[1] = sequence;
      const next = this.runs[index + 1];
      if (next && next[0] === sequence + 1) {
        run[1] = next[1];
        this.runs.splice(index + 1, 1);
      }
    } else if (run && run[0] === sequence + 1) {
      run[0] = sequence;
    } else {
      this.runs.splice(index, 0, [sequence, sequence]);
    }
    while (this.runs.length > 0 && this.runs[0]![0] <= this.highest + 1) {
      this.highest = Math.max(this.highest, this.runs.shift()![1]);
    }
    return true;
  }
}

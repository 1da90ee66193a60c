const STDOUT_LINES = 20;
const STDERR_CHARS = 6_000;

/**
 * The end of a child's output: its last stdout lines and the end of its stderr. Failure
 * messages quote it, so a failed wait says what the child was doing.
 */
export class OutputTail {
  private readonly lines: string[] = [];
  private errorText = '';

  line(text: string): void {
    this.lines.push(text);
    if (this.lines.length > STDOUT_LINES) this.lines.shift();
  }

  stderr(chunk: Buffer | string): void {
    this.errorText += String(chunk);
    // Keeps the first part too: an uncaught exception's message comes first, its noise later.
    if (this.errorText.length > 2 * STDERR_CHARS)
      this.errorText = `${this.errorText.slice(0, STDERR_CHARS / 2)}\n[…]\n${this.errorText.slice(-STDERR_CHARS)}`;
  }

  stdoutText(): string {
    return this.lines.join('\n');
  }

  stderrText(): string {
    return this.errorText;
  }

  describe(): string {
    const stdout = this.lines.length > 0 ? indent(this.stdoutText()) : '    (nothing)';
    const stderr = this.errorText.trim() ? indent(this.errorText.trimEnd()) : '    (nothing)';
    return `  last stdout lines:\n${stdout}\n  stderr:\n${stderr}`;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

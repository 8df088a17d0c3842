/**
 * A progress bar on stderr for long jobs: drawn only when the stream is a terminal (never into a
 * pipe or a log file, never on stdout, so --json output stays one object), only once the job has
 * run for `delayMs` (short jobs print nothing), redrawn at most every `intervalMs`, and erased when
 * the job ends so that the report starts on a clean line.
 */

/** The part of a stream the bar needs (process.stderr; tests pass their own). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  /** Nothing is drawn before the job has run this long (default 2000 ms). */
  readonly delayMs?: number;
  /** At most one redraw per this many ms (default 100). */
  readonly intervalMs?: number;
  /** The clock in ms (tests inject one). */
  readonly now?: () => number;
}

/** A progress bar: `update(done, total, what)` as the work goes, `end()` once (erases what it drew). */
export interface ProgressBar {
  update(done: number, total: number, what: string): void;
  end(): void;
  /** Whether anything was drawn so far. */
  readonly drawn: boolean;
}

/** A bar for `stream`; a no-op when the stream is not a terminal. */
export function progressBar(stream: ProgressStream, opts: ProgressOptions = {}): ProgressBar {
  const now = opts.now ?? (() => performance.now());
  const delay = opts.delayMs ?? 2000;
  const interval = opts.intervalMs ?? 100;
  const tty = stream.isTTY === true;
  const start = now();
  let last = -Infinity;
  let drawn = false;
  return {
    update(done, total, what) {
      if (!tty) return;
      const t = now();
      if (t - start < delay || t - last < interval) return;
      last = t;
      const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
      const width = 24;
      const full = Math.round(frac * width);
      const line = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(100 * frac)).padStart(3)}% ${what}`;
      // one line, cut to the terminal: a wrapped line could not be erased by \r
      // a terminal that reports no size (0 columns) gets the default width
      const cols = (stream.columns || 80) - 1;
      stream.write(`\r\x1b[K${line.slice(0, Math.max(0, cols))}`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
    get drawn() {
      return drawn;
    },
  };
}

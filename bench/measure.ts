/**
 * How `npm run bench` measures and prints. The first calls of a kernel run several times slower
 * than steady state (V8 compiles it in tiers), and on a shared machine any one run may be slowed
 * by others: so warm up until the runs stop getting faster, then report the minimum (the run least
 * disturbed, what the code can do) beside the median (what a user sees on this machine), and print
 * the machine's load beside the table so a reader can judge both.
 */
import { cpus, loadavg } from 'node:os';

/** One measurement: wall times in milliseconds. */
export interface Timing {
  /** The fastest timed run: the figure targets are judged on. */
  readonly min: number;
  readonly median: number;
  /** Timed runs, after warm-up. */
  readonly runs: number;
  /** Warm-up runs it took to reach steady state (or the cap). */
  readonly warmup: number;
  /** Whether warm-up ended because the runs agreed, not because a cap was hit. */
  readonly steady: boolean;
}

export interface MeasureOptions {
  /** Timed runs after warm-up. */
  readonly runs: number;
  /** Warm-up ends when the last `agree` runs are all within `tolerance` of the fastest warm-up run so far. */
  readonly tolerance?: number;
  readonly agree?: number;
  /**
   * Warm-up runs at least (default 5): V8 may run a kernel several times at one slow tier before it
   * optimises it, and agreeing slow runs would otherwise pass for steady state.
   */
  readonly minWarmup?: number;
  /** Caps on warm-up: runs, and milliseconds spent (a peer taking seconds per call gets few). */
  readonly maxWarmup?: number;
  readonly warmupBudgetMs?: number;
  /** The clock (tests pass a fake one). */
  readonly now?: () => number;
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Times `f` (sync or async): warm-up until steady, then `runs` timed runs; see the module comment. */
export async function measure(f: () => unknown, options: MeasureOptions): Promise<Timing> {
  const { runs, tolerance = 0.05, agree = 2, minWarmup = 5, maxWarmup = 30, warmupBudgetMs = 20_000, now = () => performance.now() } = options;
  if (!(runs >= 1)) throw new Error(`measure: runs must be at least 1, got ${runs}`);
  const once = async (): Promise<number> => {
    const t0 = now();
    await f();
    return now() - t0;
  };
  const warm: number[] = [];
  const start = now();
  let steady = false;
  while (warm.length < maxWarmup) {
    warm.push(await once());
    const fastest = Math.min(...warm);
    // steady: the last runs are no slower than the fastest seen by more than the tolerance
    if (warm.length >= minWarmup && warm.length > agree && warm.slice(-agree).every((t) => t <= fastest * (1 + tolerance))) {
      steady = true;
      break;
    }
    if (now() - start >= warmupBudgetMs) break;
  }
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) ts.push(await once());
  return { min: Math.min(...ts), median: median(ts), runs, warmup: warm.length, steady };
}

/** A duration for the table: three significant figures. */
export const fmtMs = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

/** A timing for the table: the minimum, the median beside it, and a mark when warm-up hit its cap. */
export const fmtTiming = (t: Timing): string => `${fmtMs(t.min)} (median ${fmtMs(t.median)}${t.steady ? '' : ', not steady'})`;

/** One row of the benchmark table. */
export interface Row {
  what: string;
  ours: string;
  peer: string;
  ratio: string;
  target: string;
  met: boolean;
}

/** The machine right now: cores and the 1/5/15-minute load averages (what else is running shows here). */
export function machineLoad(cores = cpus().length, load: readonly number[] = loadavg()): string {
  const [l1 = 0, l5 = 0, l15 = 0] = load;
  const busy = l1 > cores ? `; loaded: ${l1.toFixed(1)} runnable on ${cores} cores, timings are slower than on an idle machine` : '';
  return `load average ${l1.toFixed(2)}, ${l5.toFixed(2)}, ${l15.toFixed(2)} (1, 5, 15 min) on ${cores} cpus${busy}`;
}

/** The whole printed report: machine line, method, load before and after, and the table. */
export function formatReport(rows: readonly Row[], machine: { date: string; node: string; cores: number; model: string }, loadBefore: string, loadAfter: string): string {
  return [
    `ssim-grad benchmarks, ${machine.date}, Node ${machine.node}, ${machine.cores} cpus (${machine.model})`,
    'each timing: warm-up until the runs agree within 5 %, then the minimum over the timed runs (median beside it); targets are judged on minimums',
    `machine before: ${loadBefore}`,
    `machine after:  ${loadAfter}`,
    '',
    '| measurement | ours | peer | ratio | target | met |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.what} | ${r.ours} | ${r.peer} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'NO'} |`),
  ].join('\n');
}

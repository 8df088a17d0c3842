/**
 * The parallel path apart from what runs the jobs: validation, the split into jobs, the buffers they
 * write and the value added up from their row sums, the same for Node's worker threads
 * (../parallel.ts with pool.ts) and a browser's web workers (src/browser/workers.ts). A runner says
 * how many threads 'auto' means, whether the jobs' typed arrays reach its workers in place
 * (SharedArrayBuffer; a browser page has it only when cross-origin isolated), and runs the jobs.
 */
import { InputError, sizeOf, type Precision, type Tensor } from '../../field/index.js';
import { checkPrecision, kernelVariant, planKernel, ssimFast, ssimGradFast, storage, toInputGrid, type KernelPlan } from '../fast.js';
import { requireFinite } from '../../model/finite.js';
import { combineRowSums, type Job } from './job.js';
import { mapSize } from '../../model/geometry.js';
import { bandHalo, splitWork } from './split.js';
import type { SsimOptions } from '../../model/options.js';

/** Inputs smaller than this many values (N x C x H x W) run on the calling thread (see ../parallel.ts). */
export const PARALLEL_MIN_PIXELS = 1 << 16;

/** How to run in parallel. */
export interface ParallelOptions {
  /** Worker threads: a positive integer, or 'auto' (default) for `os.availableParallelism()`. 1 runs on the calling thread. */
  readonly threads?: number | 'auto';
  /** Inputs with fewer values (N x C x H x W) run on the calling thread; default PARALLEL_MIN_PIXELS. */
  readonly minPixels?: number;
}

/** What runs the jobs. */
export interface JobRunner {
  /** The threads 'auto' stands for. */
  readonly autoThreads: () => number;
  /**
   * Whether the jobs' buffers live in shared memory (the workers write gradients and row sums in
   * place); when false they are ordinary arrays and `run` must bring back the rows each job owns
   * (mergeOwned).
   */
  readonly sharedMemory: () => boolean;
  readonly run: (jobs: readonly Job[]) => Promise<void>;
}

/** The number of threads a call uses, validated. */
function threadCount(parallel: ParallelOptions, runner: JobRunner): number {
  const t = parallel.threads ?? 'auto';
  if (t === 'auto') return runner.autoThreads();
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) {
    throw new InputError(`threads: got ${typeof t === 'string' ? `'${t}'` : String(t)}, expected a positive integer or 'auto'`);
  }
  return t;
}

function minPixels(parallel: ParallelOptions): number {
  const m = parallel.minPixels ?? PARALLEL_MIN_PIXELS;
  if (typeof m !== 'number' || !(m >= 0)) throw new InputError(`minPixels: got ${String(m)}, expected a number >= 0`);
  return m;
}

/** Whether an array lives in shared memory (a page that is not cross-origin isolated has no SharedArrayBuffer at all). */
const isShared = (a: { buffer: ArrayBufferLike }): boolean => typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;

/** A copy in shared memory, unless the array already lives there (then the workers read it in place). */
function shared<A extends Float64Array | Float32Array>(a: A, inShared: boolean): A {
  if (!inShared) return a;
  if (isShared(a)) return a;
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): A; BYTES_PER_ELEMENT: number };
  const out = new Ctor(new SharedArrayBuffer(a.length * Ctor.BYTES_PER_ELEMENT));
  out.set(a);
  return out;
}

function sharedZeros(precision: Precision, n: number, inShared: boolean): Float64Array | Float32Array {
  if (!inShared) return precision === 'float32' ? new Float32Array(n) : new Float64Array(n);
  return precision === 'float32' ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float64Array(new SharedArrayBuffer(8 * n));
}

/** A copy in ordinary memory (set: one memcpy). */
function unshared(precision: Precision, a: Float64Array | Float32Array): Float64Array | Float32Array {
  if (!isShared(a)) return a;
  const out = precision === 'float32' ? new Float32Array(a.length) : new Float64Array(a.length);
  out.set(a);
  return out;
}

/** Runs the plan's kernel over threads; returns the value (and fills the gradients when given). */
async function runParallel(
  runner: JobRunner,
  inShared: boolean,
  plan: KernelPlan,
  precision: Precision,
  threads: number,
  xs: Float64Array | Float32Array,
  ys: Float64Array | Float32Array,
  gradX: Float64Array | Float32Array | null,
  gradY: Float64Array | Float32Array | null,
): Promise<number> {
  const p = plan.params;
  const planes = p.N * p.C;
  const kh = p.tapsH.length;
  const { MH } = mapSize(plan.config.padding, p.H, p.W, kh, p.tapsW.length);
  const halo = bandHalo(kh, p.crop);
  const rowSums = inShared ? new Float64Array(new SharedArrayBuffer(8 * planes * MH)) : new Float64Array(planes * MH);
  const base = {
    kind: gradX === null ? 'value' : 'grad',
    padding: plan.config.padding,
    variant: kernelVariant(p),
    precision,
    params: p,
    x: shared(xs, inShared),
    y: shared(ys, inShared),
    gradX,
    gradY,
    rowSums,
    halo,
  } as const;
  const jobs: Job[] = splitWork(planes, p.H, threads, halo).map((segments) => ({ ...base, segments }));
  await runner.run(jobs);
  return combineRowSums(rowSums, planes, MH, p.crop, p.omega);
}


/** `ssim` over the runner's workers: the same number, bit for bit (see ../parallel.ts). */
export async function parallelSsim(runner: JobRunner, x: Tensor, y: Tensor, options: SsimOptions, parallel: ParallelOptions): Promise<number> {
  const threads = threadCount(parallel, runner);
  const plan = planKernel(x, y, options); // validates x, y and the options first, whichever path runs
  const precision = plan.config.precision;
  if (threads === 1 || sizeOf(x.shape) < minPixels(parallel)) return ssimFast(x, y, options, precision);
  checkPrecision(precision, x, y);
  const s = await runParallel(runner, runner.sharedMemory(), plan, precision, threads, storage(x, plan, precision, 'x'), storage(y, plan, precision, 'y'), null, null);
  return requireFinite(s, plan.config, x, y);
}

/** `ssimGradFast` over the runner's workers, bit-identical to the single-thread result (see ../parallel.ts). */
export async function parallelSsimGradFast(
  runner: JobRunner,
  x: Tensor,
  y: Tensor,
  options: SsimOptions,
  precision: Precision,
  wrt: 'x' | 'both',
  parallel: ParallelOptions,
): Promise<{ ssim: number; gradX: Tensor; gradY: Tensor | null }> {
  const threads = threadCount(parallel, runner);
  const plan = planKernel(x, y, options); // validates x, y and the options first, whichever path runs
  if (threads === 1 || sizeOf(x.shape) < minPixels(parallel)) return ssimGradFast(x, y, options, precision, wrt);
  checkPrecision(precision, x, y);
  const inShared = runner.sharedMemory();
  const xs = storage(x, plan, precision, 'x');
  const ys = storage(y, plan, precision, 'y');
  let gx = sharedZeros(precision, xs.length, inShared);
  let gy = wrt === 'both' ? sharedZeros(precision, xs.length, inShared) : null;
  const s = await runParallel(runner, inShared, plan, precision, threads, xs, ys, gx, gy);
  // back in ordinary memory: typed arrays over a SharedArrayBuffer are slow in V8's optimised loops
  // (see job.ts), and a caller's code would pay for it on every access
  gx = unshared(precision, gx);
  gy = gy === null ? null : unshared(precision, gy);
  // D^T back to the input grid, as ssimGradFast does
  [gx, gy] = toInputGrid(plan, precision, gx, gy);
  const shape = [...x.shape];
  requireFinite(s, plan.config, x, y, [['d ssim/dx', gx], ['d ssim/dy', gy]]);
  return { ssim: s, gradX: { shape, data: gx }, gradY: gy === null ? null : { shape, data: gy } };
}

/** What a worker hands back of a job when the buffers are not shared: the job's own copies of them. */
export interface JobOutputs {
  readonly gradX: Float64Array | Float32Array | null;
  readonly gradY: Float64Array | Float32Array | null;
  readonly rowSums: Float64Array;
}

/**
 * Copies the rows a job owns (its segments' gradient rows, and their map rows' sums) from a worker's
 * copies into the call's buffers: what writing in place does with shared memory.
 */
export function mergeOwned(job: Job, from: JobOutputs): void {
  const { H, W } = job.params;
  const { MH } = mapSize(job.padding, H, W, job.params.tapsH.length, job.params.tapsW.length);
  for (const seg of job.segments) {
    const base = seg.plane * H * W;
    const a = base + seg.a * W, b = base + seg.b * W;
    if (job.gradX !== null && from.gradX !== null) job.gradX.set(from.gradX.subarray(a, b), a);
    if (job.gradY !== null && from.gradY !== null) job.gradY.set(from.gradY.subarray(a, b), a);
    const r0 = seg.plane * MH + seg.a, r1 = seg.plane * MH + Math.min(seg.b, MH);
    if (r1 > r0) job.rowSums.set(from.rowSums.subarray(r0, r1), r0);
  }
}

/**
 * SSIM and its gradients on worker threads: the generated kernels run on planes (image x channel),
 * or on row bands of a plane when there are fewer planes than threads, over `os.availableParallelism()`
 * workers by default. Results are bit-identical to `ssim`, `ssimGrad` and `ssimGradFast`: every
 * gradient element is computed from the same operands in the same order, and the value is the kernel's
 * per-row sums added as the kernel adds them (rows in order, then planes in order).
 *
 * The functions are asynchronous (workers answer by message), so the synchronous `ssim` and
 * `ssimGrad` stay as they are. Below `minPixels` (N x C x H x W) the work runs on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { InputError, sizeOf, type Precision, type Tensor } from '../field/index.js';
import { checkPrecision, kernelVariant, planKernel, ssimFast, ssimGradFast, storage, toInputGrid, type KernelPlan } from './fast.js';
import { requireFinite } from '../model/finite.js';
import { combineRowSums, type Job } from './_internals/job.js';
import { mapSize } from '../model/geometry.js';
import { runOnPool, terminatePool } from './_internals/pool.js';
import { bandHalo, splitWork } from './_internals/split.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';

/**
 * Inputs smaller than this many values (N x C x H x W) run on the calling thread. A parallel call
 * costs about 0.3 ms more than the kernel's own work (a 3 x 24 x 24 value + d/dx: 0.3 ms against
 * 0.2 ms on the calling thread; `node --import tsx bench/parallel.ts threshold`), and the kernel
 * takes 110-160 ns per value, so at 65536 values (about 7-10 ms of work) the overhead is a few
 * per cent; below, the saving shrinks towards nothing.
 */
export const PARALLEL_MIN_PIXELS = 1 << 16;

/** How to run in parallel. */
export interface ParallelOptions {
  /** Worker threads: a positive integer, or 'auto' (default) for `os.availableParallelism()`. 1 runs on the calling thread. */
  readonly threads?: number | 'auto';
  /** Inputs with fewer values (N x C x H x W) run on the calling thread; default PARALLEL_MIN_PIXELS. */
  readonly minPixels?: number;
}

/** The number of threads a call uses, validated. */
function threadCount(parallel: ParallelOptions): number {
  const t = parallel.threads ?? 'auto';
  if (t === 'auto') return availableParallelism();
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

/** A copy in shared memory, unless the array already lives there (then the workers read it in place). */
function shared<A extends Float64Array | Float32Array>(a: A): A {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): A; BYTES_PER_ELEMENT: number };
  const out = new Ctor(new SharedArrayBuffer(a.length * Ctor.BYTES_PER_ELEMENT));
  out.set(a);
  return out;
}

function sharedZeros(precision: Precision, n: number): Float64Array | Float32Array {
  return precision === 'float32' ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float64Array(new SharedArrayBuffer(8 * n));
}

/** A copy in ordinary memory (set: one memcpy). */
function unshared(precision: Precision, a: Float64Array | Float32Array): Float64Array | Float32Array {
  const out = precision === 'float32' ? new Float32Array(a.length) : new Float64Array(a.length);
  out.set(a);
  return out;
}

/** Runs the plan's kernel over threads; returns the value (and fills the gradients when given). */
async function runParallel(
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
  const rowSums = new Float64Array(new SharedArrayBuffer(8 * planes * MH));
  const base = {
    kind: gradX === null ? 'value' : 'grad',
    padding: plan.config.padding,
    variant: kernelVariant(p),
    precision,
    params: p,
    x: shared(xs),
    y: shared(ys),
    gradX,
    gradY,
    rowSums,
    halo,
  } as const;
  const jobs: Job[] = splitWork(planes, p.H, threads, halo).map((segments) => ({ ...base, segments }));
  await runOnPool(jobs);
  return combineRowSums(rowSums, planes, MH, p.crop, p.omega);
}

/**
 * `ssim` on worker threads (see the module comment): the same number, bit for bit. Inputs below
 * `minPixels` values, or `threads: 1`, run on the calling thread.
 */
export async function ssimAsync(x: Tensor, y: Tensor, options: SsimOptions = {}, parallel: ParallelOptions = {}): Promise<number> {
  const threads = threadCount(parallel);
  const precision = resolveOptions(options).precision;
  const plan = planKernel(x, y, options); // validates x, y and the options first, whichever path runs
  if (threads === 1 || sizeOf(x.shape) < minPixels(parallel)) return ssimFast(x, y, options, precision);
  checkPrecision(precision, x, y);
  const s = await runParallel(plan, precision, threads, storage(x, plan, precision, 'x'), storage(y, plan, precision, 'y'), null, null);
  return requireFinite(s, plan.config, x, y);
}

/**
 * `ssimGradFast` on worker threads: SSIM and its exact gradients (d/dy skipped when `wrt` is 'x'),
 * bit-identical to the single-thread result. Gradients come back as ssimGradFast's do (Float64Array or
 * Float32Array in ordinary memory, x's shape).
 */
export async function ssimGradFastAsync(
  x: Tensor,
  y: Tensor,
  options: SsimOptions = {},
  precision: Precision = 'float64',
  wrt: 'x' | 'both' = 'both',
  parallel: ParallelOptions = {},
): Promise<{ ssim: number; gradX: Tensor; gradY: Tensor | null }> {
  const threads = threadCount(parallel);
  const plan = planKernel(x, y, options); // validates x, y and the options first, whichever path runs
  if (threads === 1 || sizeOf(x.shape) < minPixels(parallel)) return ssimGradFast(x, y, options, precision, wrt);
  checkPrecision(precision, x, y);
  const xs = storage(x, plan, precision, 'x');
  const ys = storage(y, plan, precision, 'y');
  let gx = sharedZeros(precision, xs.length);
  let gy = wrt === 'both' ? sharedZeros(precision, xs.length) : null;
  const s = await runParallel(plan, precision, threads, xs, ys, gx, gy);
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

/**
 * `ssimGrad` on worker threads: SSIM and both exact gradients, bit-identical to `ssimGrad`. Inputs
 * below `minPixels` values, or `threads: 1`, run on the calling thread.
 */
export async function ssimGradAsync(
  x: Tensor,
  y: Tensor,
  options: SsimOptions = {},
  parallel: ParallelOptions = {},
): Promise<{ ssim: number; gradX: Tensor; gradY: Tensor }> {
  const r = await ssimGradFastAsync(x, y, options, resolveOptions(options).precision, 'both', parallel);
  return { ssim: r.ssim, gradX: r.gradX, gradY: r.gradY! };
}

/** Ends the worker threads (they never keep a process alive, being unref'd while idle; this frees them now). */
export function terminateWorkers(): Promise<void> {
  return terminatePool();
}

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
import type { Precision, Tensor } from '../field/index.js';
import { runOnPool, terminatePool } from './_internals/pool.js';
import { parallelSsim, parallelSsimGradFast, type JobRunner, type ParallelOptions } from './_internals/parallel-core.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';

/**
 * Inputs smaller than this many values (N x C x H x W) run on the calling thread. A parallel call
 * costs about 0.3 ms more than the kernel's own work (a 3 x 24 x 24 value + d/dx: 0.3 ms against
 * 0.2 ms on the calling thread; `node --import tsx bench/parallel.ts threshold`), and the kernel
 * takes 110-160 ns per value, so at 65536 values (about 7-10 ms of work) the overhead is a few
 * per cent; below, the saving shrinks towards nothing.
 */
export { PARALLEL_MIN_PIXELS, type ParallelOptions } from './_internals/parallel-core.js';

/** Node's worker threads: shared memory always, 'auto' = os.availableParallelism(). */
const NODE_THREADS: JobRunner = { autoThreads: availableParallelism, sharedMemory: () => true, run: runOnPool };

/**
 * `ssim` on worker threads (see the module comment): the same number, bit for bit. Inputs below
 * `minPixels` values, or `threads: 1`, run on the calling thread.
 */
export async function ssimAsync(x: Tensor, y: Tensor, options: SsimOptions = {}, parallel: ParallelOptions = {}): Promise<number> {
  return parallelSsim(NODE_THREADS, x, y, options, parallel);
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
  return parallelSsimGradFast(NODE_THREADS, x, y, options, precision, wrt, parallel);
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

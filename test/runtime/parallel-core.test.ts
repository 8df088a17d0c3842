/**
 * The parallel core with workers that do not share memory (a browser page that is not cross-origin
 * isolated): each job runs on a structured clone of itself, as a web worker would receive it, and
 * mergeOwned brings back the rows it owns. The results equal the one-thread kernels bit for bit
 * (every gradient element and the value, by Object.is) over boundary rules, window sizes, crops,
 * storage precisions, planes and bands, MATLAB's downsampling and wrt.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runJob, type Job } from '../../src/runtime/_internals/job.js';
import { mergeOwned, parallelSsim, parallelSsimGradFast, type JobRunner } from '../../src/runtime/_internals/parallel-core.js';
import { ssimFast, ssimGradFast } from '../../src/runtime/fast.js';
import { BOUNDARIES } from '../../src/field/boundary.js';
import type { SsimOptions } from '../../src/model/options.js';

/** Workers as a page without shared memory has them: a copy in, the job's own buffers back. */
const COPYING: JobRunner = {
  autoThreads: () => 3,
  sharedMemory: () => false,
  run: async (jobs: readonly Job[]) => {
    let ran = 0;
    for (const job of jobs) {
      const copy = structuredClone(job);
      runJob(copy);
      mergeOwned(job, { gradX: copy.gradX, gradY: copy.gradY, rowSums: copy.rowSums });
      ran++;
    }
    expect(ran).toBe(jobs.length);
  },
};

function image(shape: number[], seed: number): { shape: number[]; data: Float64Array } {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)) };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

describe('the parallel core on copying workers (mergeOwned)', () => {
  it('equals the one-thread kernels bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          planes: fc.constantFrom([1, 1], [1, 3], [2, 2]),
          H: fc.integer({ min: 24, max: 60 }),
          W: fc.integer({ min: 16, max: 30 }),
          padding: fc.constantFrom(...BOUNDARIES),
          size: fc.constantFrom(3, 7, 11),
          crop: fc.constantFrom(0, 2),
          precision: fc.constantFrom('float64' as const, 'float32' as const),
          wrt: fc.constantFrom('x' as const, 'both' as const),
          threads: fc.integer({ min: 2, max: 5 }),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        async ({ planes, H, W, padding, size, crop, precision, wrt, threads, seed }) => {
          const shape = [planes[0]!, planes[1]!, H, W];
          const x = image(shape, seed), y = image(shape, seed + 1);
          const options: SsimOptions = { window: 'box', size, padding, crop, precision };
          const one = ssimGradFast(x, y, options, precision, wrt);
          const many = await parallelSsimGradFast(COPYING, x, y, options, precision, wrt, { threads, minPixels: 0 });
          expect(Object.is(many.ssim, one.ssim)).toBe(true);
          expect(same(many.gradX.data, one.gradX.data)).toBe(true);
          expect(many.gradY === null ? null : same(many.gradY.data, one.gradY!.data)).toBe(wrt === 'both' ? true : null);
          expect(Object.is(await parallelSsim(COPYING, x, y, options, { threads, minPixels: 0 }), ssimFast(x, y, options, precision))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("runs MATLAB's downsampling and 'auto' threads the same way", async () => {
    const x = image([1, 3, 600, 40], 7), y = image([1, 3, 600, 40], 8);
    const options: SsimOptions = { preset: 'matlab' };
    const one = ssimGradFast(x, y, options, 'float64', 'both');
    const many = await parallelSsimGradFast(COPYING, x, y, options, 'float64', 'both', { minPixels: 0 });
    expect(Object.is(many.ssim, one.ssim)).toBe(true);
    expect(same(many.gradX.data, one.gradX.data) && same(many.gradY!.data, one.gradY!.data)).toBe(true);
  });
});

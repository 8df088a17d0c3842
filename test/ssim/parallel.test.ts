/**
 * The worker-thread path against the single-thread kernels: every gradient element and the value
 * equal bit for bit (Object.is), over presets, boundary rules, window sizes (unrolled and generic),
 * crops, reductions, both storage precisions, batches, gray images (row bands) and odd sizes.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BOUNDARIES, InputError, type Tensor } from '../../src/field/index.js';
import { ssim, ssimAsync, ssimGrad, ssimGradAsync, ssimGradFastAsync, terminateWorkers } from '../../src/index.js';
import type { Precision } from '../../src/field/precision.js';
import { ssimFast, ssimGradFast } from '../../src/runtime/fast.js';
import { PRESETS, type SsimOptions } from '../../src/model/options.js';
import { poolSize } from '../../src/runtime/_internals/pool.js';
import { bandHalo, splitWork } from '../../src/runtime/_internals/split.js';
import { uniform } from '../support/uniform.js';

afterAll(() => terminateWorkers());

/** Indices where a and b differ as numbers' bits would (Object.is: -0 and 0 differ, NaN equals NaN). */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  expect(b.length).toBe(a.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

function image(shape: number[], seed: number, L = 1): { x: Tensor; y: Tensor } {
  const n = shape.reduce((p, q) => p * q, 1);
  // a deterministic, non-smooth pair (values in [0, L])
  const x = Float64Array.from({ length: n }, (_, i) => L * (0.5 + 0.5 * Math.sin(i * 0.7311 + seed)));
  const y = Float64Array.from(x, (v, i) => Math.min(L, Math.max(0, v + L * 0.2 * Math.sin(i * 1.37 + 2 * seed))));
  return { x: { shape, data: x }, y: { shape, data: y } };
}

async function expectIdentical(x: Tensor, y: Tensor, options: SsimOptions, precision: Precision, wrt: 'x' | 'both', threads: number): Promise<void> {
  const one = ssimGradFast(x, y, options, precision, wrt);
  const many = await ssimGradFastAsync(x, y, options, precision, wrt, { threads, minPixels: 0 });
  expect(Object.is(many.ssim, one.ssim), `value ${many.ssim} vs ${one.ssim}`).toBe(true);
  expect(many.gradX.shape).toEqual(one.gradX.shape);
  expect(many.gradX.data.constructor).toBe(one.gradX.data.constructor);
  expect(differing(one.gradX.data, many.gradX.data)).toEqual([]);
  if (wrt === 'both') expect(differing(one.gradY!.data, many.gradY!.data)).toEqual([]);
  else expect(many.gradY).toBeNull();
  const v = await ssimAsync(x, y, { ...options, precision }, { threads, minPixels: 0 });
  expect(Object.is(v, ssimFast(x, y, options, precision)), `value-only ${v}`).toBe(true);
}

describe('splitWork', () => {
  it('gives every row of every plane to exactly one thread, in order, at most `threads` shares', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 20 }), (planes, H, threads, halo) => {
        const shares = splitWork(planes, H, threads, halo);
        expect(shares.length).toBeLessThanOrEqual(threads);
        const flat = shares.flat();
        let plane = 0, row = 0;
        for (const s of flat) {
          if (row === H) [plane, row] = [plane + 1, 0];
          expect([s.plane, s.a]).toEqual([plane, row]);
          expect(s.b).toBeGreaterThan(s.a);
          row = s.b;
        }
        expect([plane, row]).toEqual([planes - 1, H]);
      }),
    );
  });

  it('splits a gray image into row bands, and 3 planes on 2 threads into 1.5 planes each', () => {
    expect(splitWork(1, 512, 2, bandHalo(11, 0))).toEqual([[{ plane: 0, a: 0, b: 256 }], [{ plane: 0, a: 256, b: 512 }]]);
    expect(splitWork(3, 1080, 2, bandHalo(11, 0))).toEqual([
      [{ plane: 0, a: 0, b: 1080 }, { plane: 1, a: 0, b: 540 }],
      [{ plane: 1, a: 540, b: 1080 }, { plane: 2, a: 0, b: 1080 }],
    ]);
    // bands no thinner than twice the halo: 30 rows with a halo of 10 stay one band
    expect(splitWork(1, 30, 2, 10)).toEqual([[{ plane: 0, a: 0, b: 30 }]]);
  });
});

describe('worker threads give the single-thread bits', () => {
  it('gray images in row bands, every boundary rule, 7, 11 and generic windows, odd sizes', async () => {
    for (const padding of BOUNDARIES) {
      for (const [size, window] of [[11, 'gaussian'], [7, 'box'], [9, 'gaussian']] as const) {
        for (const [H, W, threads] of [[97, 61, 2], [64, 130, 3]] as const) {
          const { x, y } = image([H, W], H + size);
          {
            // these sizes do split into bands (a band starts inside the plane)
            expect(splitWork(1, H, threads, bandHalo(size, 0)).flat().some((s) => s.a > 0)).toBe(true);
            await expectIdentical(x, y, { padding, size, window }, 'float64', 'both', threads);
          }
        }
      }
    }
  });

  it('every preset on a colour image with an odd size; float32 storage; d/dx alone', async () => {
    const { x, y } = image([3, 75, 83], 3, 255);
    for (const preset of PRESETS) {
      for (const precision of ['float64', 'float32'] as const) {
        await expectIdentical(x, y, { preset, dataRange: 255 }, precision, 'both', 2);
      }
      await expectIdentical(x, y, { preset, dataRange: 255 }, 'float64', 'x', 4);
    }
  });

  it("matlab's downsampling (f = 2) before the split, and the transpose after it", async () => {
    const { x, y } = image([1, 403, 389], 5, 255);
    await expectIdentical(x, y, { preset: 'matlab' }, 'float64', 'both', 2);
  });

  it('random shapes and options (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          preset: fc.constantFrom(...PRESETS),
          window: fc.constantFrom('gaussian' as const, 'box' as const),
          size: fc.constantFrom(1, 3, 5, 7, 11),
          padding: fc.constantFrom(...BOUNDARIES),
          sampleCovariance: fc.boolean(),
          crop: fc.nat(4),
          reduction: fc.constantFrom('mean' as const, 'sum' as const),
          precision: fc.constantFrom('float64' as const, 'float32' as const),
          wrt: fc.constantFrom('x' as const, 'both' as const),
          threads: fc.integer({ min: 2, max: 5 }),
          N: fc.integer({ min: 1, max: 2 }),
          C: fc.integer({ min: 1, max: 3 }),
          H: fc.integer({ min: 12, max: 90 }),
          W: fc.integer({ min: 12, max: 40 }),
          seed: uniform(0, 100),
        }),
        async (r) => {
          const { x, y } = image([r.N, r.C, r.H, r.W], r.seed);
          const options: SsimOptions = {
            preset: r.preset, window: r.window, size: r.size, padding: r.padding, sampleCovariance: r.sampleCovariance && r.size > 1,
            crop: r.crop, dataRange: 1, reduction: r.reduction,
          };
          try {
            ssimFast(x, y, options);
          } catch (e) {
            if (e instanceof InputError) fc.pre(false); // options the library rejects (e.g. a crop leaving nothing)
            throw e;
          }
          await expectIdentical(x, y, options, r.precision, r.wrt, r.threads);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('ssimGradAsync and ssimAsync equal ssimGrad and ssim (both gradients, the preset precision)', async () => {
    const { x, y } = image([2, 3, 70, 50], 7);
    for (const options of [{}, { precision: 'float32' as const }]) {
      const one = ssimGrad(x, y, options);
      const many = await ssimGradAsync(x, y, options, { threads: 2, minPixels: 0 });
      expect(Object.is(many.ssim, one.ssim)).toBe(true);
      expect(differing(one.gradX.data, many.gradX.data)).toEqual([]);
      expect(differing(one.gradY.data, many.gradY.data)).toEqual([]);
      expect(Object.is(await ssimAsync(x, y, options, { threads: 'auto', minPixels: 0 }), ssim(x, y, options))).toBe(true);
    }
  });
});

describe('when threads are used', () => {
  it('below minPixels (default PARALLEL_MIN_PIXELS) and with threads: 1 the calling thread runs it', async () => {
    await terminateWorkers();
    const { x, y } = image([3, 40, 40], 1);
    const one = ssimGradFast(x, y, {}, 'float64', 'both');
    const r = await ssimGradFastAsync(x, y, {}, 'float64', 'both', { threads: 2 });
    expect(poolSize()).toBe(0);
    expect(differing(one.gradX.data, r.gradX.data)).toEqual([]);
    await ssimAsync(x, y, {}, { threads: 1, minPixels: 0 });
    expect(poolSize()).toBe(0);
    await ssimAsync(x, y, {}, { threads: 2, minPixels: 0 });
    expect(poolSize()).toBe(2);
    // the pool is reused, not grown, by the next call
    await ssimAsync(x, y, {}, { threads: 2, minPixels: 0 });
    expect(poolSize()).toBe(2);
  });

  it('calls in flight together share the pool and each gets its own result', async () => {
    const a = image([3, 50, 40], 2), b = image([1, 90, 33], 3);
    const [ra, rb] = await Promise.all([
      ssimGradFastAsync(a.x, a.y, {}, 'float64', 'both', { threads: 2, minPixels: 0 }),
      ssimGradFastAsync(b.x, b.y, { preset: 'skimage', dataRange: 1 }, 'float64', 'both', { threads: 2, minPixels: 0 }),
    ]);
    const [oa, ob] = [ssimGradFast(a.x, a.y, {}, 'float64', 'both'), ssimGradFast(b.x, b.y, { preset: 'skimage', dataRange: 1 }, 'float64', 'both')];
    expect([Object.is(ra.ssim, oa.ssim), Object.is(rb.ssim, ob.ssim)]).toEqual([true, true]);
    expect(differing(oa.gradX.data, ra.gradX.data)).toEqual([]);
    expect(differing(ob.gradY!.data, rb.gradY!.data)).toEqual([]);
  });

  it('rejects bad threads and minPixels with a one-line error naming them', async () => {
    const { x, y } = image([8, 8], 1);
    for (const threads of [0, -1, 1.5, Number.NaN, 'many']) {
      // @ts-expect-error: a caller without types may pass anything
      await expect(ssimAsync(x, y, {}, { threads })).rejects.toThrow(new InputError(`threads: got ${typeof threads === 'string' ? `'${threads}'` : String(threads)}, expected a positive integer or 'auto'`));
    }
    await expect(ssimGradAsync(x, y, {}, { minPixels: -1 })).rejects.toThrow(/^minPixels: got -1, expected a number >= 0$/);
    // bad images are rejected as by the single-thread functions
    await expect(ssimGradAsync(x, { shape: [8, 9], data: new Float64Array(72) }, {}, { threads: 2, minPixels: 0 })).rejects.toThrow(/^y: shape \[8,9\] differs/);
  });
});

/**
 * The fused 3DGS loss kernels (gsLoss: the SSIM map and the L1 term of the pixels in one kernel)
 * against the float64 reference: evaluateVariant of '3dgs-loss' over the field graph, value and
 * both gradients to 1e-12, every boundary rule, any odd window (generic and unrolled kernels),
 * float32 storage to 1e-5.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOUNDARIES, type Tensor } from '../../src/field/index.js';
import { gsLossKernels } from '../../src/generated/index.js';
import { planKernel } from '../../src/runtime/fast.js';
import { evaluateVariant } from '../../src/runtime/variants.js';
import { uniform } from '../support/uniform.js';

const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
};

describe('gsLoss kernels = the 3dgs-loss variant', () => {
  it('value, d/dx and d/dy to 1e-12 (float64) and 1e-5 (float32 storage), every rule, windows 3-11, lambda in [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.record({
          padding: fc.constantFrom(...BOUNDARIES),
          size: fc.constantFrom(3, 5, 7, 11),
          lambda: uniform(0, 1),
          N: fc.integer({ min: 1, max: 2 }),
          C: fc.integer({ min: 1, max: 3 }),
          H: fc.integer({ min: 11, max: 20 }),
          W: fc.integer({ min: 11, max: 20 }),
          seed: fc.integer({ min: 1, max: 1 << 30 }),
        }),
        ({ padding, size, lambda, N, C, H, W, seed }) => {
          const n = N * C * H * W;
          let s = seed;
          const next = (): number => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648);
          const xs = Float64Array.from({ length: n }, next);
          // ties (x = y) at some pixels: sign(0) = 0 there, as PyTorch takes it
          const ys = Float64Array.from(xs, (v, i) => (i % 7 === 0 ? v : Math.min(1, Math.max(0, v + 0.3 * (next() - 0.5)))));
          const shape = [N, C, H, W];
          const x: Tensor = { shape, data: xs }, y: Tensor = { shape, data: ys };
          const options = { preset: 'pytorch-ssim' as const, size, padding, variant: '3dgs-loss', lambda };
          const want = evaluateVariant(x, y, options);
          const plan = planKernel(x, y, { preset: 'pytorch-ssim', size, padding });
          const p = { ...plan.params, omega: -lambda * plan.params.omega, pixelOmega: (1 - lambda) / n };
          const table = gsLossKernels[padding];
          const k = size === 11 ? table.k11 : table.generic;
          const gx = new Float64Array(n), gy = new Float64Array(n);
          const value = lambda + k.gradF64(xs, ys, p, { gradX: gx, gradY: gy });
          expect(Math.abs(value - want.value)).toBeLessThan(1e-12);
          expect(Math.abs(lambda + k.valueF64(xs, ys, p) - want.value)).toBeLessThan(1e-12);
          expect(rel(gx, want.gradX)).toBeLessThan(1e-12);
          expect(rel(gy, want.gradY)).toBeLessThan(1e-12);
          const gx32 = new Float32Array(n);
          const v32 = lambda + k.gradF32(Float32Array.from(xs), Float32Array.from(ys), p, { gradX: gx32, gradY: null });
          expect(Math.abs(v32 - want.value)).toBeLessThan(1e-5);
          expect(rel(gx32, want.gradX)).toBeLessThan(1e-4);
        },
      ),
      { numRuns: 40 },
    );
  });
});

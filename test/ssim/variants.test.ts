/** Every variant's exact gradient against central differences of its own float64 value. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, type Tensor } from '../../src/field/index.js';
import { evaluateVariant, type VariantOptions } from '../../src/runtime/variants.js';
import { uniform } from '../support/uniform.js';

function pair(shape: number[], L: number, xs: number[], noise: number[]): { x: Tensor; y: Tensor } {
  return {
    x: { shape, data: Float64Array.from(xs, (v) => v * L) },
    y: { shape, data: Float64Array.from(xs, (v, i) => Math.min(1, Math.max(0, v + noise[i]!)) * L) },
  };
}

/** Five-point central difference of the variant's value along one pixel (step 1e-3 L, as for SSIM). */
function centralDifference(x: Tensor, y: Tensor, o: VariantOptions, which: 'x' | 'y', p: number, L: number): number {
  const h = 1e-3 * L;
  const at = (t: number): number => {
    const img = Float64Array.from((which === 'x' ? x : y).data);
    img[p] = img[p]! + t * h;
    const moved = { shape: x.shape, data: img };
    return evaluateVariant(which === 'x' ? moved : x, which === 'x' ? y : moved, o).value;
  };
  return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h);
}

function agrees(x: Tensor, y: Tensor, o: VariantOptions, L: number, pixels: number[]): void {
  const r = evaluateVariant(x, y, o);
  for (const which of ['x', 'y'] as const) {
    const g = which === 'x' ? r.gradX : r.gradY;
    for (const p of pixels) {
      const cd = centralDifference(x, y, o, which, p, L);
      const err = Math.abs(g[p]! - cd);
      // the floor: what the difference can resolve, its rounding ~ 18 eps |value| / (12 h) = 1.5e-13 / L,
      // with room for MS-SSIM's value being a product of powers that each round
      if (!(err <= 1e-6 * Math.max(Math.abs(cd), Math.abs(g[p]!)) || err <= 1e-11 / L)) {
        throw new Error(`${o.variant} d/d${which}[${p}]: exact ${g[p]}, central ${cd}`);
      }
    }
  }
}

describe('variants: exact gradients against central differences', () => {
  it('dssim and the 3DGS loss (random images, options)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<VariantOptions>(
          { variant: 'dssim' },
          { variant: 'dssim', dssimDivisor: 1 },
          { variant: '3dgs-loss' },
          { variant: '3dgs-loss', lambda: 0.7 },
          { variant: 'ssim', preset: 'skimage', dataRange: 1 },
        ),
        fc.array(uniform(0, 1), { minLength: 2 * 14 * 15, maxLength: 2 * 14 * 15 }),
        fc.array(uniform(-0.3, 0.3), { minLength: 2 * 14 * 15, maxLength: 2 * 14 * 15 }),
        fc.array(fc.nat(2 * 14 * 15 - 1), { minLength: 4, maxLength: 4 }),
        (o, xs, noise, pixels) => {
          const { x, y } = pair([2, 14, 15], 1, xs, noise);
          // |x - y| has a kink where x = y: keep the checked pixels off it
          fc.pre(pixels.every((p) => Math.abs(x.data[p]! - y.data[p]!) > 1e-2));
          agrees(x, y, { ...o, dataRange: 1 }, 1, pixels);
        },
      ),
      { numRuns: 25 },
    );
  });

  it.each([
    ['pytorch-msssim (zero-padded pooling)', { variant: 'ms-ssim', preset: 'pytorch-msssim', weights: [0.2, 0.3, 0.5] }],
    ['tf (edge-repeating pooling)', { variant: 'ms-ssim', preset: 'tf', dataRange: 255, weights: [0.3, 0.7] }],
    ['pytorch-msssim, five scales', { variant: 'ms-ssim', preset: 'pytorch-msssim' }],
  ] as const)('ms-ssim, %s', (_, o) => {
    const J = (o as VariantOptions).weights?.length ?? 5;
    const side = 10 * 2 ** (J - 1) + 3; // odd sizes exercise the pooling's padding
    const n = side * (side + 2);
    const rand = fc.sample(fc.array(uniform(0, 1), { minLength: 2 * n, maxLength: 2 * n }), { numRuns: 1, seed: 7 })[0]!;
    // a smooth scene, so that every cs stays positive (relu's kink is not what is tested here)
    const xs = Array.from({ length: n }, (_, i) => 0.5 + 0.3 * Math.sin((i % (side + 2)) / 5) * Math.cos(Math.floor(i / (side + 2)) / 7) + 0.1 * rand[i]!);
    const noise = Array.from({ length: n }, (_, i) => 0.15 * (rand[n + i]! - 0.5));
    const { x, y } = pair([1, 1, side, side + 2], 255, xs, noise);
    agrees(x, y, o as VariantOptions, 255, [0, side + 3, Math.floor(n / 2), n - 1]);
  });

  it('ms-ssim rejects images too small for its scales, naming the sizes', () => {
    const x = { shape: [1, 1, 100, 120], data: new Float64Array(12000).fill(0.5) };
    expect(() => evaluateVariant(x, x, { variant: 'ms-ssim', preset: 'pytorch-msssim' })).toThrow(InputError);
    expect(() => evaluateVariant(x, x, { variant: 'ms-ssim', preset: 'pytorch-msssim' })).toThrow(/larger than 160 pixels on the shorter side, got 100 x 120/);
  });

  it('options of one variant are refused on another', () => {
    const x = { shape: [12, 12], data: new Float64Array(144).fill(0.5) };
    expect(() => evaluateVariant(x, x, { variant: 'dssim', lambda: 0.3 })).toThrow(/only the 3dgs-loss variant takes lambda/);
    expect(() => evaluateVariant(x, x, { variant: 'bogus' as 'ssim' })).toThrow(/expected one of ssim, ms-ssim/);
  });

  it('wang with alpha = beta = gamma = 1 is SSIM, value and gradient', () => {
    const [xs, noise] = fc.sample(fc.tuple(fc.array(uniform(0, 1), { minLength: 300, maxLength: 300 }), fc.array(uniform(-0.3, 0.3), { minLength: 300, maxLength: 300 })), { numRuns: 1, seed: 3 })[0]!;
    const { x, y } = pair([1, 3, 10, 10], 1, xs, noise);
    const w = evaluateVariant(x, y, { variant: 'wang', padding: 'reflect' });
    const s = evaluateVariant(x, y, { variant: 'ssim', padding: 'reflect' });
    expect(w.value).toBeCloseTo(s.value, 13);
    expect(Math.max(...Array.from(w.gradX, (v, i) => Math.abs(v - s.gradX[i]!)))).toBeLessThan(1e-14);
  });

  it('wang with other exponents agrees with central differences', () => {
    fc.assert(
      fc.property(
        fc.record({ alpha: fc.constantFrom(0.5, 1, 2), beta: fc.constantFrom(0.5, 1.5, 3), gamma: fc.constantFrom(1, 2) }),
        fc.array(uniform(0.2, 0.8), { minLength: 2 * 12 * 13, maxLength: 2 * 12 * 13 }),
        fc.array(uniform(-0.1, 0.1), { minLength: 2 * 12 * 13, maxLength: 2 * 12 * 13 }),
        fc.array(fc.nat(2 * 12 * 13 - 1), { minLength: 3, maxLength: 3 }),
        (e, xs, noise, pixels) => {
          const { x, y } = pair([2, 12, 13], 1, xs, noise);
          agrees(x, y, { variant: 'wang', dataRange: 1, ...e }, 1, pixels);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('wang where a variance is zero: finite value and gradient, no NaN (d sigma/d var taken as 0 there)', () => {
    const flat = { shape: [1, 1, 12, 12], data: new Float64Array(144).fill(0.4) }; // var_x = 0 everywhere
    const textured = { shape: [1, 1, 12, 12], data: Float64Array.from({ length: 144 }, (_, i) => 0.3 + 0.4 * ((i * 7) % 5) / 5) };
    for (const o of [{ beta: 0.5 }, { gamma: 2 }, { alpha: 2, beta: 1.5 }]) {
      const r = evaluateVariant(flat, textured, { variant: 'wang', dataRange: 1, ...o });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(r.gradX.every(Number.isFinite)).toBe(true);
      expect(r.gradY.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('MS-SSIM on the generated kernels', () => {
  it('equals its fine graph (no kernels) to 1e-12 (value and both gradients), both poolings, odd sizes', async () => {
    const { onEngines } = await import('../support/engines.js');
    for (const [preset, shape] of [['pytorch-msssim', [2, 2, 45, 51]], ['tf', [1, 3, 47, 44]]] as const) {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const x = { shape: [...shape], data: Float64Array.from({ length: n }, (_, i) => 128 + 90 * Math.sin(i / 9) * Math.cos(i / 31)) };
      const y = { shape: [...shape], data: x.data.map((v, i) => v + 15 * Math.sin(i / 3)) };
      const o = { variant: 'ms-ssim' as const, preset, dataRange: 255, weights: [0.3, 0.3, 0.4] };
      const [k, r] = onEngines(x, y, o);
      expect(Math.abs(k.value - r.value)).toBeLessThanOrEqual(1e-12 * Math.abs(r.value));
      for (const [a, b] of [[k.gradX, r.gradX], [k.gradY, r.gradY]] as const) {
        const scale = Math.max(...Array.from(b, Math.abs));
        expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(1e-12 * scale);
      }
    }
  });
});

describe("Wang's form on its generated kernels", () => {
  it('equals its fine graph (exact rational exponents, field operators) to 1e-12, for several exponents and paddings', async () => {
    const { onEngines } = await import('../support/engines.js');
    const shape = [2, 2, 19, 23];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = { shape, data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.35 * Math.sin(i / 7) * Math.cos(i / 19)) };
    const y = { shape, data: x.data.map((v, i) => Math.min(1, Math.max(0, v + 0.08 * Math.sin(i / 3)))) };
    for (const o of [
      { alpha: 1, beta: 1, gamma: 1, padding: 'same' as const },
      { alpha: 0.5, beta: 2, gamma: 1.5, padding: 'valid' as const },
      { alpha: 2, beta: 0.5, gamma: 1, padding: 'reflect' as const, window: 'box' as const, size: 7 },
    ]) {
      const opts = { variant: 'wang' as const, dataRange: 1, ...o };
      const [k, r] = onEngines(x, y, opts);
      expect(Math.abs(k.value - r.value)).toBeLessThanOrEqual(1e-12 * Math.abs(r.value));
      for (const [a, b] of [[k.gradX, r.gradX], [k.gradY, r.gradY]] as const) {
        const scale = Math.max(...Array.from(b, Math.abs));
        expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(1e-12 * scale);
      }
    }
  });
});

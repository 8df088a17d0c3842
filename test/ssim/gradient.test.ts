/** The exact gradient against central differences of the float64 value, random images and options. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOUNDARIES, InputError, type Tensor } from '../../src/field/index.js';
import { PRESETS, type SsimOptions } from '../../src/model/options.js';
import { evaluateSsim, ssimReference, type SsimEvaluation } from '../../src/runtime/reference.js';
import { uniform } from '../support/uniform.js';

interface Case {
  x: Tensor;
  y: Tensor;
  options: SsimOptions;
  pixels: number[];
  L: number;
}

/** Random NCHW pairs (y a noisy copy of x, so SSIM is well away from 0) with random options. */
const cases: fc.Arbitrary<Case> = fc
  .record({
    preset: fc.constantFrom(...PRESETS),
    window: fc.constantFrom('gaussian' as const, 'box' as const),
    size: fc.constantFrom(3, 5, 7, 11),
    sigma: uniform(0.5, 2.5),
    padding: fc.constantFrom(...BOUNDARIES),
    sampleCovariance: fc.boolean(),
    crop: fc.nat(2),
    downsample: fc.constantFrom(undefined, undefined, 2),
    L: fc.constantFrom(1, 255),
    N: fc.integer({ min: 1, max: 2 }),
    C: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 6, max: 24 }),
    W: fc.integer({ min: 6, max: 24 }),
    seed: fc.integer(),
  })
  .chain((r) => {
    const n = r.N * r.C * r.H * r.W;
    return fc.record({
      xs: fc.array(uniform(0, 1), { minLength: n, maxLength: n }),
      noise: fc.array(uniform(-0.2, 0.2), { minLength: n, maxLength: n }),
      pixels: fc.array(fc.nat(n - 1), { minLength: 6, maxLength: 6 }),
    }).map(({ xs, noise, pixels }) => {
      const shape = [r.N, r.C, r.H, r.W];
      const x = Float64Array.from(xs, (v) => v * r.L);
      const y = Float64Array.from(xs, (v, i) => Math.min(1, Math.max(0, v + noise[i]!)) * r.L);
      const options: SsimOptions = {
        preset: r.preset, window: r.window, size: r.size, ...(r.window === 'gaussian' ? { sigma: r.sigma } : {}), padding: r.padding,
        sampleCovariance: r.sampleCovariance, crop: r.crop, dataRange: r.L,
        ...(r.downsample === undefined ? {} : { downsample: r.downsample }),
      };
      return { x: { shape, data: x }, y: { shape, data: y }, options, pixels, L: r.L };
    });
  });

/**
 * Five-point central difference of the float64 value along one pixel. Step h = 1e-3 L: the
 * truncation error h^4 f^(5) / 30 is about 1e-10 of the derivative (each derivative order
 * brings a factor of about w / sqrt(C2) ~ 3 / L), and rounding, about eps / h, is 1e-13 / L:
 * both far inside the 1e-6 asked for. Where the window means are near zero the luminance term
 * varies on the scale sqrt(C1) = k1 L = L / 100 instead, and h = 1e-3 L leaves 1e-3 of
 * truncation (a random seed found x = 0 but one pixel at 1e-9, y = 0); there the step is
 * 1e-5 L, whose rounding, about 3e-11 / L, is the floor asked for instead.
 */
function centralDifference(c: Case, which: 'x' | 'y', p: number, step = 1e-3): number {
  const h = step * c.L;
  const at = (t: number): number => {
    const img = Float64Array.from(c[which].data);
    img[p] = img[p]! + t * h;
    const pair = which === 'x' ? { x: { shape: c.x.shape, data: img }, y: c.y } : { x: c.x, y: { shape: c.y.shape, data: img } };
    return ssimReference(pair.x, pair.y, c.options);
  };
  return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h);
}

describe('exact SSIM gradient (float64 reference)', () => {
  it('agrees with central differences at random pixels, for random images, shapes and options', () => {
    fc.assert(
      fc.property(cases, (c) => {
        let e: SsimEvaluation;
        try {
          e = evaluateSsim(c.x, c.y, c.options);
        } catch (err) {
          // options that do not fit the image (a crop that leaves nothing, a short axis under 'valid') are rejected, not computed
          if (err instanceof InputError) return fc.pre(false);
          throw err;
        }
        for (const which of ['x', 'y'] as const) {
          const g = which === 'x' ? e.gradX : e.gradY;
          for (const p of c.pixels) {
            const agrees = (step: number, floor: number): { ok: boolean; cd: number; rel: number } => {
              const cd = centralDifference(c, which, p, step);
              const err = Math.abs(g[p]! - cd);
              const rel = err / Math.max(Math.abs(cd), Math.abs(g[p]!));
              // elements too small for the difference to resolve: its rounding error (about
              // 18 eps |S| / (12 h) = 1.5e-13 / L at h = 1e-3 L) bounds what it can say
              return { ok: rel <= 1e-6 || err <= floor / c.L, cd, rel };
            };
            const first = agrees(1e-3, 1e-12);
            const second = first.ok ? first : agrees(1e-5, 1e-10);
            if (!second.ok) throw new Error(`d/d${which}[${p}] with ${JSON.stringify(c.options)}: exact ${g[p]}, central ${first.cd} (h = 1e-3 L; ${second.cd} at 1e-5 L), relative error ${first.rel}, ${second.rel}`);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives the same value as the mean of the map over the region', () => {
    const shape = [1, 1, 12, 13];
    const x = { shape, data: Float64Array.from({ length: 156 }, (_, i) => (i * 37) % 11 / 10) };
    const y = { shape, data: Float64Array.from({ length: 156 }, (_, i) => (i * 17) % 13 / 12) };
    const e = evaluateSsim(x, y, { preset: 'skimage', dataRange: 1 });
    // skimage crops (7 - 1) / 2 = 3 pixels from each side of the 12 x 13 map: rows 3..8, columns 3..9, by hand
    expect(e.map.length).toBe(156);
    let sum = 0;
    for (let i = 3; i < 9; i++) for (let j = 3; j < 10; j++) sum += e.map[i * 13 + j]!;
    expect(e.ssim).toBeCloseTo(sum / 42, 14);
    // and the region operator is that crop
    const inner = e.region.apply(e.map);
    expect(inner.length).toBe(42);
  });
});

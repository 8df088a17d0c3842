/**
 * Tiles for the variants that do not tile by rho (src/check/subsample.ts, pinnedContext): MS-SSIM
 * (its plane means couple every pixel of a plane at every scale) and MATLAB's downsampling. A tile
 * cut with the halo of the graph's receptive field, aligned to its strides, with the whole images'
 * per-plane and scalar values pinned, gives at its kept pixels the whole images' exact gradient,
 * terms and every known mistake (each compared with the same thing built by the whole-image path,
 * which shares no code with the tiles but the graph); a tiled check names what the whole check
 * names. Wang's form, which tiles by rho, is held to the same. The images are small and the
 * thresholds lowered (minValues 0, tiles of 4 x 4, cuts allowed to cover the whole axis), so that
 * the tiles run on images the whole check can afford.
 */
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { differenceNorms, norm2 } from '../../src/check/floor.js';
import { applicableMistakes, mistakesFor } from '../../src/mistakes/assemble.js';
import { type MistakeContext } from '../../src/mistakes/context.js';
import { keptRuns, pinnedContext, planSubsample, stripContext, takeKept, wholeRun, type SubsamplePlan } from '../../src/check/subsample.js';
import { plainOptions, variantPieces } from '../../src/check/variant-model.js';
import type { Tensor } from '../../src/field/index.js';
import { evaluateSsim, resolveOptions, type GradientTerms, type VariantOptions } from '../../src/runtime/index.js';

/** A 1 x C x H x W pair in [0, 1]: a smooth scene, noise, and a noisy copy. */
function pair(C: number, H: number, W: number, seed = 11): { x: Tensor; y: Tensor } {
  let s = seed;
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = new Float64Array(C * H * W);
  const y = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const p = (c * H + i) * W + j;
        const v = 0.5 + 0.25 * Math.sin(i / 9 + c) * Math.cos(j / 6) + 0.2 * rand();
        x[p] = v;
        y[p] = Math.min(1, Math.max(0, v + 0.1 * (rand() - 0.5)));
      }
    }
  }
  return { x: { shape: [1, C, H, W], data: x }, y: { shape: [1, C, H, W], data: y } };
}

const FORCE = { minValues: 0, stripRows: 4, stripCols: 4, maxCoverage: 1 } as const;
// odd sizes at every scale: the pooling pads (pytorch-msssim) or repeats (tf) a row and a column
const ODD = pair(2, 203, 221);
// min(H, W) / 256 rounds to 2: MATLAB's automatic downsampling by 2
const MATLAB = pair(1, 400, 410);
const MS = { variant: 'ms-ssim', weights: [0.2, 0.3, 0.5], size: 7, sigma: 1 } as const;

interface Case {
  readonly name: string;
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: VariantOptions;
  readonly wrt: 'x' | 'y';
  /** The halo the receptive field needs, worked out by hand; null: tiled by rho (2r + crop). */
  readonly halo: number | null;
}

// MS-SSIM with J scales and k taps: the coarsest scale's window reaches (k - 1) / 2 of its pixels, each 2^(J-1) of the
// finest, either side, and the poolings before it 2^(J-1) - 1 more in all: 2^(J-1) k - 1 (27 for 3 scales of 7 taps).
// MATLAB's f x f box (f - 1) and the 'valid' window's 10 pixels of the downsampled grid (10 f): 11 f - 1.
const CASES: readonly Case[] = [
  { name: 'ms-ssim, 3 scales of 7 taps, zero padding, d/dx', ...ODD, options: MS, wrt: 'x', halo: 27 },
  { name: "ms-ssim, pytorch-msssim ('valid', odd sizes padded in front), d/dy", ...ODD, options: { ...MS, preset: 'pytorch-msssim', dataRange: 1 }, wrt: 'y', halo: 27 },
  { name: 'ms-ssim, tf (odd sizes: the last row repeated), d/dx', ...ODD, options: { ...MS, preset: 'tf', dataRange: 1 }, wrt: 'x', halo: 27 },
  { name: 'matlab, downsampled by 2 (auto), d/dx', ...MATLAB, options: { preset: 'matlab', dataRange: 1 }, wrt: 'x', halo: 21 },
  { name: 'dssim under matlab, downsampled by 3, d/dy', ...ODD, options: { variant: 'dssim', preset: 'matlab', downsample: 3, dataRange: 1 }, wrt: 'y', halo: 32 },
  { name: 'wang (alpha 1.5, gamma 0.5), by rho', ...ODD, options: { variant: 'wang', alpha: 1.5, gamma: 0.5 }, wrt: 'x', halo: null },
];

const nameOf = (o: VariantOptions): string => (o.variant ?? 'ssim') as string;

/** What the whole-image path gives: the context, the exact gradient and its terms on the input grid. */
function wholePath(c: Case): { ctx: MistakeContext; exact: Float64Array; terms: GradientTerms } {
  const plain = nameOf(c.options) === 'ssim';
  const ssimOptions = plain ? c.options : plainOptions(c.options);
  const e = evaluateSsim(c.x, c.y, ssimOptions);
  const pieces = plain ? undefined : variantPieces(c.x, c.y, c.options, c.wrt);
  const t = c.wrt === 'x' ? e.termsX : e.termsY;
  const D = (v: Float64Array): Float64Array => e.downsample.transpose(v);
  const ctx: MistakeContext = { x: c.x, y: c.y, options: ssimOptions, e, wrt: c.wrt, variantOptions: c.options, ...(pieces ? { pieces } : {}) };
  return { ctx, exact: pieces?.exact ?? (c.wrt === 'x' ? e.gradX : e.gradY), terms: pieces?.terms ?? { mean: D(t.mean), square: D(t.square), cross: D(t.cross) } };
}

const planOf = (c: Case): SubsamplePlan => {
  const ssimOptions = nameOf(c.options) === 'ssim' ? c.options : plainOptions(c.options);
  return planSubsample(c.x.shape as [number, number, number, number], resolveOptions(ssimOptions), nameOf(c.options), FORCE, c.options)!;
};

describe.each(CASES)('tiles give the whole images\' values: $name', (c) => {
  const plan = planOf(c);
  const w = wholePath(c);
  const library = mistakesFor(c.x, c.y, c.options);
  const wholeMistakes = library.map((m) => m.build(w.ctx));
  let cache: Array<{ runs: ReturnType<typeof keptRuns>; st: ReturnType<typeof pinnedContext> }> | undefined;
  const tiles = () =>
    (cache ??= (() => {
      const run = plan.pinned !== undefined ? wholeRun(c.x, c.y, plan, c.wrt) : null;
      const ssimOptions = nameOf(c.options) === 'ssim' ? c.options : plainOptions(c.options);
      return plan.strips.map((s) => ({
        runs: keptRuns(plan.shape, s),
        st: run !== null ? pinnedContext(c, plan, s, run) : stripContext(c, ssimOptions, plan, s),
      }));
    })());

  it('plans tiles at the corners and the centre of each plane, pinned with the halo of the receptive field (or 3 x 3 by rho)', () => {
    expect(plan).not.toBeNull();
    expect(plan.strips.length).toBe((c.halo === null ? 9 : 5) * c.x.shape[1]!);
    expect(plan.pinned !== undefined).toBe(c.halo !== null);
    if (c.halo !== null) expect(plan.halo).toBe(c.halo);
    // cuts start on the strides' grid and end where what is left of the axis is a multiple of it
    const a = plan.pinned?.align ?? 1;
    const [, , H, W] = plan.shape;
    for (const s of plan.strips) {
      expect(s.cut[0] % a).toBe(0);
      expect((H - s.cut[1]) % a).toBe(0);
      expect(s.cutCols[0] % a).toBe(0);
      expect((W - s.cutCols[1]) % a).toBe(0);
      // the halo is there, unless the cut reaches the edge
      expect(s.cut[0] === 0 || s.keep[0] - s.cut[0] >= plan.halo).toBe(true);
      expect(s.cut[1] === H || s.cut[1] - s.keep[1] >= plan.halo).toBe(true);
    }
  });

  it('the exact gradient and its three terms, at the kept pixels (1e-12 relative)', () => {
    for (const { runs, st } of tiles()) {
      const rel = (a: Float64Array, b: Float64Array): number => differenceNorms(takeKept(a, runs, 'strip', st.rho), takeKept(b, runs, 'whole')).l2 / (norm2(b) || 1);
      expect(rel(st.exact, w.exact)).toBeLessThan(1e-12);
      for (const k of ['mean', 'square', 'cross'] as const) expect(rel(st.terms[k], w.terms[k])).toBeLessThan(1e-12);
    }
  });

  it('every known mistake, at the kept pixels (1e-10 of its size)', () => {
    expect(wholeMistakes.filter((g) => g !== null).length).toBeGreaterThan(5);
    library.forEach((m, j) => {
      const whole = wholeMistakes[j]!;
      for (const { runs, st } of tiles()) {
        const g = m.build(st.ctx);
        expect([m.kind, g === null]).toEqual([m.kind, whole === null]);
        if (g === null || whole === null) continue;
        expect(differenceNorms(takeKept(g, runs, 'strip', st.rho), takeKept(whole, runs, 'whole')).l2).toBeLessThanOrEqual(1e-10 * (norm2(whole) || 1));
      }
    });
  });

  it('a tiled check names what the whole check names, known mistakes as the candidate (the first two and the last)', () => {
    const all0 = applicableMistakes(w.ctx, w.exact, library);
    expect(all0.length).toBeGreaterThan(5);
    // a few (each check runs the whole library on its tiles; the mistakes' values on them are compared above, all of them)
    const list = [...all0.slice(0, 2), all0[all0.length - 1]!];
    list.forEach(({ mistake, gradient }, i) => {
      const input = { x: c.x, y: c.y, options: c.options, wrt: c.wrt, candidate: gradient };
      const sub = checkGradient({ ...input, subsample: { ...FORCE, maxPlanes: 1 } }).report;
      expect(sub.subsample).toBeDefined();
      expect(sub.verdict).toBe('mismatch');
      expect([mistake.kind, sub.diagnosis[0]!.kind]).toEqual([mistake.kind, mistake.kind]);
      if (i > 0) return;
      const all = checkGradient({ ...input, subsample: false }).report;
      expect(all.subsample).toBeUndefined();
      expect(sub.diagnosis.map((d) => d.kind)).toEqual(all.diagnosis.map((d) => d.kind));
      expect(sub.mistakes[0]!.kind).toBe(all.mistakes[0]!.kind);
      // the whole-image figures: every pixel, as the whole check has them
      expect(Math.abs(sub.maxAbsError - all.maxAbsError)).toBeLessThanOrEqual(1e-12 * all.maxAbsExact);
      expect(Math.abs(sub.scale.k - all.scale.k)).toBeLessThanOrEqual(1e-10 * Math.abs(all.scale.k));
      expect(sub.regions.interior.relL2).toBeCloseTo(all.regions.interior.relL2, 10);
    });
  });

  it('the exact gradient is a match, and the report says what was tiled', () => {
    const r = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: c.wrt, candidate: w.exact, subsample: FORCE }).report;
    expect(r.verdict).toBe('match');
    expect(r.subsample!.exactAgreement).toBeLessThan(1e-12);
    expect(r.subsample!.halo).toBe(plan.halo);
    if (c.halo !== null) expect(r.subsample!.note).toMatch(new RegExp(`${c.halo} pixels of halo \\(the reach of every scale and downsampling\\), aligned to ${plan.pinned!.align} pixels, and the whole images' per-plane means and scalars pinned`));
  });
});

describe('what is tiled at 4K', () => {
  it('MS-SSIM (5 scales of 11 taps: 16 x 11 - 1 = 175 pixels of halo, cuts on a grid of 16) and MATLAB (f = 8: 87)', () => {
    const ms = planSubsample([1, 3, 2160, 3840], resolveOptions({}), 'ms-ssim', {}, { variant: 'ms-ssim' })!;
    expect(ms.pinned!.align).toBe(16);
    expect(ms.halo).toBe(175);
    expect(ms.strips.length).toBe(15);
    // the corners and the centre: no tile in the middle of an edge
    expect(ms.strips.slice(0, 5).map((s) => [s.keep[0], s.keepCols[0]])).toEqual([[0, 0], [0, 3776], [1072, 1888], [2144, 0], [2144, 3776]]);
    const m = planSubsample([1, 3, 2160, 3840], resolveOptions({ preset: 'matlab' }), 'ssim', {}, { preset: 'matlab' })!;
    expect(m.pinned!.options.downsample).toBe(8);
    expect(m.halo).toBe(87);
    // without the options a graph cannot be read: checked whole, as before
    expect(planSubsample([1, 3, 2160, 3840], resolveOptions({}), 'ms-ssim')).toBeNull();
  });

  it('a mask (a field option) is still checked whole', () => {
    expect(planSubsample([1, 3, 2160, 3840], resolveOptions({}), { name: 'masked', summary: '', options: { mask: { kind: 'field', help: '' } }, loss: ({ x, y, g }) => g.ssim(x, y) }, {}, {})).toBeNull();
  });
});

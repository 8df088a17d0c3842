/**
 * The checker's subsample of large images (src/check/subsample.ts): a strip cut with its halo
 * gives, at its kept rows and times rho, the whole images' exact gradient, terms and every known
 * mistake (each compared with the same thing built on the whole images by the whole-image path);
 * a subsampled check names the same mistakes as the whole check; small images are not
 * subsampled. Images are made here (a smooth scene plus seeded noise), large enough in rows for
 * strips of 4 rows and their halos to cover less than half of each plane.
 */
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { formatCheckReport } from '../../src/check/report.js';
import { differenceNorms, norm2 } from '../../src/check/floor.js';
import { applicableMistakes, mistakesFor } from '../../src/mistakes/assemble.js';
import { type MistakeContext } from '../../src/mistakes/context.js';
import { KNOWN_MISTAKES } from '../../src/mistakes/ssim.js';
import { keptRuns, planSubsample, stripContext, takeKept } from '../../src/check/subsample.js';
import { plainOptions, variantPieces } from '../../src/check/variant-model.js';
import type { Shape4, Tensor } from '../../src/field/index.js';
import { evaluateSsim, resolveOptions, type VariantOptions } from '../../src/runtime/index.js';
import { CHECK_CONFIGS } from './configs.js';

/** A 1 x C x H x W pair in [0, 1] (or [0, 255]): a smooth scene, noise, and a noisy copy. */
function pair(C: number, H: number, W: number, range = 1, seed = 7): { x: Tensor; y: Tensor } {
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
        const v = 0.5 + 0.25 * Math.sin(i / 7 + c) * Math.cos(j / 5) + 0.2 * rand();
        x[p] = range * v;
        y[p] = range * Math.min(1, Math.max(0, v + 0.1 * (rand() - 0.5)));
      }
    }
  }
  return { x: { shape: [1, C, H, W], data: x }, y: { shape: [1, C, H, W], data: y } };
}

// tiles of 4 x 4 (3 x 3 per plane); with the default 64 columns, full-width strips (the image is too narrow for them)
const FORCE = { minValues: 0, stripRows: 4, stripCols: 4 } as const;
const FORCE_STRIPS = { minValues: 0, stripRows: 4 } as const;
const SHAPE: Shape4 = [1, 2, 160, 150];
const IMG = pair(2, 160, 150);
const IMG255 = pair(2, 160, 150, 255);

interface Case {
  readonly name: string;
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: VariantOptions;
  readonly wrt: 'x' | 'y';
}

// every boundary rule, a crop with sample covariance, 'valid', 'sum', d/dy, and the subsampled variants
const CASES: readonly Case[] = [
  { name: 'pytorch-ssim (zero padding), d/dx', ...IMG, options: {}, wrt: 'x' },
  { name: 'pytorch-ssim, d/dy', ...IMG, options: {}, wrt: 'y' },
  { name: 'mirror padding', ...IMG, options: { padding: 'mirror' }, wrt: 'x' },
  { name: 'replicate padding, reduction sum', ...IMG, options: { padding: 'replicate', reduction: 'sum' }, wrt: 'x' },
  { name: 'skimage (reflect, sample covariance, crop 3)', ...IMG, options: { preset: 'skimage', dataRange: 1 }, wrt: 'x' },
  { name: 'skimage with a Gaussian (11 taps, crop 3)', ...IMG, options: { preset: 'skimage', dataRange: 1, window: 'gaussian' }, wrt: 'y' },
  { name: "pytorch-msssim ('valid', L 255)", ...IMG255, options: { preset: 'pytorch-msssim' }, wrt: 'x' },
  { name: 'dssim', ...IMG, options: { variant: 'dssim' }, wrt: 'x' },
  { name: 'wang (alpha 1.5, gamma 0.5), d/dy', ...IMG, options: { variant: 'wang', alpha: 1.5, gamma: 0.5 }, wrt: 'y' },
  { name: '3dgs-loss (lambda 0.3)', ...IMG, options: { variant: '3dgs-loss', lambda: 0.3 }, wrt: 'x' },
  { name: '3dgs-loss, skimage, d/dy', ...IMG, options: { variant: '3dgs-loss', preset: 'skimage', dataRange: 1 }, wrt: 'y' },
];

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => differenceNorms(a, b).l2 / (norm2(b) || 1);

describe.each(CASES)('strips give the whole images\' values: $name', (c) => {
  const variant = (c.options.variant ?? 'ssim') as string;
  const ssimOptions = variant === 'ssim' ? c.options : plainOptions(c.options);
  const plan = planSubsample(SHAPE, resolveOptions(ssimOptions), variant, FORCE)!;
  // the whole-image path, as checkGradient takes it for small images
  const e = evaluateSsim(c.x, c.y, ssimOptions);
  const ssimTerms = () => (c.wrt === 'x' ? e.termsX : e.termsY);
  const pieces = variant === 'ssim' ? undefined : variantPieces(c.x, c.y, c.options, c.wrt, ssimTerms);
  const whole: MistakeContext = { x: c.x, y: c.y, options: ssimOptions, e, wrt: c.wrt, ...(pieces ? { pieces } : {}) };
  const exact = pieces?.exact ?? (c.wrt === 'x' ? e.gradX : e.gradY);
  const library = mistakesFor(c.x, c.y, c.options);
  const wholeMistakes = library.map((m) => m.build(whole));
  let stripCache: Array<{ s: (typeof plan.strips)[number]; st: ReturnType<typeof stripContext> }> | undefined;
  const strips = () => (stripCache ??= plan.strips.map((s) => ({ s, st: stripContext(c, ssimOptions, plan, s) })));

  it('plans 3 x 3 tiles per plane that cover less than half of it', () => {
    expect(plan).not.toBeNull();
    expect(plan.strips.length).toBe(18);
    expect(plan.halo).toBe(resolveOptions(ssimOptions).taps.length - 1 + resolveOptions(ssimOptions).crop);
  });

  it('the exact gradient and its three terms, at the kept rows (1e-12 relative)', () => {
    const t = pieces?.terms ?? ssimTerms();
    for (const { s, st } of strips()) {
      const runs = keptRuns(SHAPE, s);
      const scaled = (g: Float64Array): Float64Array => takeKept(g, runs, 'strip', st.rho);
      const whole = (g: Float64Array): Float64Array => takeKept(g, runs, 'whole');
      expect(relDiff(scaled(st.exact), whole(exact))).toBeLessThan(1e-12);
      for (const k of ['mean', 'square', 'cross'] as const) expect(relDiff(scaled(st.terms[k]), whole(t[k]))).toBeLessThan(1e-12);
    }
  });

  it.each(library.map((m, j) => [m.kind, j] as const))('mistake %s, at the kept rows (1e-10 relative)', (_, j) => {
    const m = library[j]!;
    const w = wholeMistakes[j]!;
    for (const { s, st } of strips()) {
      const g = m.build(st.ctx);
      expect(g === null).toBe(w === null);
      if (g === null || w === null) continue;
      const runs = keptRuns(SHAPE, s);
      // relative to the mistake's size over the whole images: a border-only mistake may vanish inside
      expect(differenceNorms(takeKept(g, runs, 'strip', st.rho), takeKept(w, runs, 'whole')).l2).toBeLessThanOrEqual(1e-10 * (norm2(w) || 1));
    }
  });
});

describe('a subsampled check', () => {
  // a representative few (each runs two checks per mistake): zero padding, Gaussian skimage d/dy, 'valid', Wang d/dy, the 3DGS loss under skimage
  const FEW = [0, 5, 6, 8, 10].map((i) => CASES[i]!);
  it.each(FEW.map((c) => [c.name, c] as const))('names the same mistake as the whole check, every known mistake as the candidate: %s', (_, c) => {
    const variant = (c.options.variant ?? 'ssim') as string;
    const ssimOptions = variant === 'ssim' ? c.options : plainOptions(c.options);
    const e = evaluateSsim(c.x, c.y, ssimOptions);
    const pieces = variant === 'ssim' ? undefined : variantPieces(c.x, c.y, c.options, c.wrt, () => (c.wrt === 'x' ? e.termsX : e.termsY));
    const ctx: MistakeContext = { x: c.x, y: c.y, options: ssimOptions, e, wrt: c.wrt, ...(pieces ? { pieces } : {}) };
    const exact = pieces?.exact ?? (c.wrt === 'x' ? e.gradX : e.gradY);
    const list = applicableMistakes(ctx, exact, mistakesFor(c.x, c.y, c.options));
    expect(list.length).toBeGreaterThan(3);
    list.forEach(({ mistake, gradient }, i) => {
      const input = { x: c.x, y: c.y, options: c.options, wrt: c.wrt, candidate: gradient };
      const sub = checkGradient({ ...input, subsample: FORCE }).report;
      expect(sub.subsample).toBeDefined();
      expect(sub.verdict).toBe('mismatch');
      // applicableMistakes keeps mistakes that differ on the whole images, so the whole check names this one (mistakes.test.ts)
      expect(sub.diagnosis[0]!.kind).toBe(mistake.kind);
      expect(sub.mistakes[0]!.matched).toBe('as-is');
      if (i > 0) return;
      const all = checkGradient({ ...input, subsample: false }).report;
      expect(all.subsample).toBeUndefined();
      expect(all.diagnosis[0]!.kind).toBe(mistake.kind);
      // the whole-image figures: the kernels' exact gradient against the reference's, equal to rounding
      expect(Math.abs(sub.maxAbsError - all.maxAbsError)).toBeLessThanOrEqual(1e-12 * all.maxAbsExact);
      expect(Math.abs(sub.scale.k - all.scale.k)).toBeLessThanOrEqual(1e-12 * Math.abs(all.scale.k));
      // the floor from one float32 kernel run (d/dy as d/dx with x and y swapped): the same size as the whole path's
      expect(sub.roundingFloor.l2 / all.roundingFloor.l2).toBeGreaterThan(0.5);
      expect(sub.roundingFloor.l2 / all.roundingFloor.l2).toBeLessThan(2);
    });
  });

  it.each(CASES.map((c) => [c.name, c] as const))('fits the terms on the strips: a candidate with the square term halved is 1, 0.5, 1: %s', (_, c) => {
    const variant = (c.options.variant ?? 'ssim') as string;
    const ssimOptions = variant === 'ssim' ? c.options : plainOptions(c.options);
    const e = evaluateSsim(c.x, c.y, ssimOptions);
    const ssimTerms = () => (c.wrt === 'x' ? e.termsX : e.termsY);
    const pieces = variant === 'ssim' ? undefined : variantPieces(c.x, c.y, c.options, c.wrt, ssimTerms);
    const t = pieces?.terms ?? ssimTerms();
    const off = pieces?.offset ?? null;
    const candidate = t.mean.map((v, i) => v + 0.5 * t.square[i]! + t.cross[i]! + (off === null ? 0 : off[i]!));
    const r = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: c.wrt, candidate, subsample: FORCE }).report;
    expect(r.subsample).toBeDefined();
    expect(r.terms.residual).toBeLessThan(1e-8);
    expect(r.terms.mean).toBeCloseTo(1, 8);
    expect(r.terms.square).toBeCloseTo(0.5, 8);
    expect(r.terms.cross).toBeCloseTo(1, 8);
  });

  it('matches the exact gradient and its float32 rounding, and says what it subsampled (tiles, and strips)', () => {
    const c = CASES[0]!;
    const e = evaluateSsim(c.x, c.y, {});
    for (const candidate of [e.gradX, Float32Array.from(e.gradX)]) {
      const r = checkGradient({ x: c.x, y: c.y, options: {}, wrt: 'x', candidate, subsample: FORCE }).report;
      expect(r.verdict).toBe('match');
      expect(r.subsample!.values).toBe(18 * 4 * 4);
      expect(r.subsample!.of).toBe(2 * 160 * 150);
      expect(r.subsample!.exactAgreement).toBeLessThan(1e-12);
      expect(r.subsample!.strips.map((s) => [s.rows, s.columns])).toEqual(
        [0, 1].flatMap(() => [[0, 4], [78, 82], [156, 160]].flatMap((rows) => [[0, 4], [73, 77], [146, 150]].map((cols) => [rows, cols]))),
      );
      expect(r.subsample!.strips[4]).toEqual({ plane: 0, rows: [78, 82], cut: [68, 92], columns: [73, 77], cutColumns: [63, 87] });
      expect(r.terms.residual).toBeLessThan(1e-6);
      expect(formatCheckReport(r, { candidate: 'g.npy', x: 'x.npy', y: 'y.npy' }).replace(/\n +/g, ' ')).toMatch(
        /subsample: known mistakes and the term fit on 18 tiles of 4 x 4 \(rows 0-3, 78-81, 156-159 x columns 0-3, 73-76, 146-149 of planes 0, 1; 288 of 48000 values/,
      );
      const strips = checkGradient({ x: c.x, y: c.y, options: {}, wrt: 'x', candidate, subsample: FORCE_STRIPS }).report;
      expect(strips.verdict).toBe('match');
      expect(strips.subsample!.values).toBe(6 * 4 * 150);
      expect(strips.subsample!.exactAgreement).toBeLessThan(1e-12);
      expect(strips.subsample!.note).toMatch(/^known mistakes and the term fit on 6 strips of 4 full-width rows \(rows 0-3, 78-81, 156-159 of planes 0, 1;/);
    }
  });

  it('an error only outside the tiles: a mismatch whose cause the tiles cannot see is said so, not fitted', () => {
    const c = CASES[0]!;
    const e = evaluateSsim(c.x, c.y, {});
    // a 10 x 10 block tripled in the first plane, clear of every tile (rows 78-81 and columns 73-76 hold the middle ones)
    const candidate = Float64Array.from(e.gradX);
    for (let i = 30; i < 40; i++) for (let j = 30; j < 40; j++) candidate[i * 150 + j]! *= 3;
    const r = checkGradient({ x: c.x, y: c.y, options: {}, wrt: 'x', candidate, subsample: FORCE }).report;
    expect(r.verdict).toBe('mismatch');
    const kinds = r.diagnosis.map((d) => d.kind);
    expect(kinds).not.toContain('terms');
    expect(r.diagnosis.find((d) => d.kind === 'unexplained')!.message).toMatch(/equals the exact gradient on the 18 sampled tiles/);
    // the whole check (no tiles) sees the block and fits no known mistake either
    const whole = checkGradient({ x: c.x, y: c.y, options: {}, wrt: 'x', candidate, subsample: false }).report;
    expect(whole.verdict).toBe('mismatch');
    expect(whole.diagnosis.map((d) => d.kind)).toContain('terms');
  });

  it.each([[0], [4], [6]])('full-width strips name the same mistakes as tiles (case %i)', (i) => {
    const c = CASES[i]!;
    const e = evaluateSsim(c.x, c.y, c.options);
    const ctx: MistakeContext = { x: c.x, y: c.y, options: c.options, e, wrt: c.wrt };
    for (const { mistake, gradient } of applicableMistakes(ctx, c.wrt === 'x' ? e.gradX : e.gradY)) {
      const r = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: c.wrt, candidate: gradient, subsample: FORCE_STRIPS }).report;
      expect(r.subsample!.strips[0]!.columns).toEqual([0, 150]);
      expect(r.mistakes[0]!.kind).toBe(mistake.kind);
      expect(r.mistakes[0]!.matched).toBe('as-is');
    }
  });

  it('the whole-image arrays of the result (evaluation, context) are the whole images\'', () => {
    const c = CASES[4]!;
    const e = evaluateSsim(c.x, c.y, c.options);
    const r = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: 'x', candidate: e.gradX.map((v) => 2 * v), subsample: FORCE });
    expect(r.evaluation.shape).toEqual(SHAPE);
    expect(r.context.e.gradX).toEqual(e.gradX);
    expect(r.context.whole).toBeUndefined();
  });
});

describe('what is subsampled', () => {
  const cfg = resolveOptions({});
  it('small images are checked whole (every test configuration, default thresholds)', () => {
    for (const c of CHECK_CONFIGS) {
      const e = evaluateSsim(c.x, c.y, c.options);
      const r = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: c.wrt, candidate: c.wrt === 'x' ? e.gradX : e.gradY }).report;
      expect(r.subsample).toBeUndefined();
    }
  });

  it('from 2^20 values on (default), 3 x 2160 x 3840 among them', () => {
    expect(planSubsample([1, 3, 590, 590], cfg, 'ssim')).toBeNull();
    expect(planSubsample([1, 3, 600, 600], cfg, 'ssim')).not.toBeNull();
    const p = planSubsample([1, 3, 2160, 3840], cfg, 'ssim')!;
    expect(p.strips.length).toBe(27);
    expect(p.kept).toBe(27 * 16 * 64);
    expect(p.strips.slice(0, 9).map((s) => [s.keep, s.keepCols])).toEqual(
      [[0, 16], [1072, 1088], [2144, 2160]].flatMap((r) => [[0, 64], [1888, 1952], [3776, 3840]].map((c) => [r, c])),
    );
    expect(p.strips.slice(0, 9).map((s) => [s.cut, s.cutCols])).toEqual(
      [[0, 26], [1062, 1098], [2134, 2160]].flatMap((r) => [[0, 74], [1878, 1962], [3766, 3840]].map((c) => [r, c])),
    );
  });

  it('without the variant\'s options not MS-SSIM or MATLAB downsampling (pinned tiles read its graph: subsample-pinned.test.ts), nor planes too short for the strips', () => {
    expect(planSubsample([1, 3, 2160, 3840], cfg, 'ms-ssim')).toBeNull();
    expect(planSubsample([1, 3, 2160, 3840], resolveOptions({ preset: 'matlab' }), 'ssim')).toBeNull();
    expect(planSubsample([1, 3, 2160, 3840], resolveOptions({ preset: 'matlab', downsample: 1 }), 'ssim')).not.toBeNull();
    expect(planSubsample([1, 1, 100, 20000], cfg, 'ssim')).toBeNull();
    // too narrow for three tiles of 64 columns and their halos: full-width strips
    expect(planSubsample([1, 1, 20000, 100], cfg, 'ssim')!.strips.map((s) => s.keepCols)).toEqual([[0, 100], [0, 100], [0, 100]]);
  });

  it('at most four planes, the first and the last among them', () => {
    const p = planSubsample([4, 3, 2160, 3840], cfg, 'ssim')!;
    expect([...new Set(p.strips.map((s) => s.plane))]).toEqual([0, 4, 7, 11]);
  });

  it('every mistake kind of the SSIM library is compared on the strips (none lost to the halo)', () => {
    const c = CASES[4]!;
    const e = evaluateSsim(c.x, c.y, c.options);
    const r = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: 'x', candidate: e.gradX.map((v) => 2 * v), subsample: FORCE }).report;
    const whole = checkGradient({ x: c.x, y: c.y, options: c.options, wrt: 'x', candidate: e.gradX.map((v) => 2 * v), subsample: false }).report;
    expect(r.mistakes.map((m) => m.kind).sort()).toEqual(whole.mistakes.map((m) => m.kind).sort());
    // not an empty comparison: most of the library applies to this case
    expect(r.mistakes.length).toBeGreaterThanOrEqual(KNOWN_MISTAKES.length / 2);
  });
});

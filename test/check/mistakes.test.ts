/**
 * Every known mistake, built from the exact gradient's graph, is named by the checker when it is
 * the candidate (in float64 and rounded to float32), and no other mistake is ranked above it.
 */
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../src/check/diagnose.js';
import { applicableMistakes, mistakesFor, variantMistakes } from '../../src/mistakes/assemble.js';
import { exactFromCentral } from '../../src/mistakes/central.js';
import { type MistakeContext } from '../../src/mistakes/context.js';
import { KNOWN_MISTAKES } from '../../src/mistakes/ssim.js';
import { differenceNorms, norm2 } from '../../src/check/floor.js';
import { centralSsim } from '../../src/mistakes/central.js';
import { evaluateVec } from '../../src/expr/index.js';
import { windowMean } from '../../src/field/index.js';
import { BOUNDARIES, BOUNDARY_RULES } from '../../src/field/boundary.js';
import { evaluateSsim, onImageGrid, type GradientTerms, type SsimEvaluation } from '../../src/runtime/index.js';
import { CHECK_CONFIGS } from './configs.js';

describe.each(CHECK_CONFIGS)('known mistakes: $name', (cfg) => {
  const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
  const exact = cfg.wrt === 'x' ? e.gradX : e.gradY;
  const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: cfg.wrt };
  const mistakes = applicableMistakes(ctx, exact);

  it('rebuilding the map partials from the central partials gives the exact gradient (the mistakes rest on it)', () => {
    const t = exactFromCentral(ctx);
    const g = e.downsample.transpose(t.mean.map((v, i) => v + t.square[i]! + t.cross[i]!));
    expect(differenceNorms(g, exact).l2 / norm2(exact)).toBeLessThan(1e-13);
  });

  it("each mistake's three terms (reverse mode's contributions through the windows and the product maps) add up to its gradient", () => {
    for (const m of KNOWN_MISTAKES) {
      const t = m.terms(ctx);
      const g = m.build(ctx);
      expect(t === null, m.kind).toBe(g === null);
      if (t === null || g === null) continue;
      const sum = e.downsample.transpose(t.mean.map((v, i) => v + t.square[i]! + t.cross[i]!));
      expect(differenceNorms(sum, g).l2 / norm2(g), m.kind).toBeLessThan(1e-13);
    }
  });

  it.each(mistakes.map((m) => [m.mistake.kind, m] as const))('%s is named first, in float64 and in float32', (_, { mistake, gradient }) => {
    for (const candidate of [gradient, Float32Array.from(gradient)]) {
      const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: cfg.wrt, candidate }).report;
      expect(r.verdict).toBe('mismatch');
      expect(r.mistakes[0]!.kind).toBe(mistake.kind);
      expect(r.mistakes[0]!.matched).toBe('as-is');
      expect(r.diagnosis[0]!.kind).toBe(mistake.kind);
      // the next one is far: the name is not a coin toss
      expect(r.mistakes[1]!.distance).toBeGreaterThan(100 * r.mistakeTolerance.value);
    }
  });
});

/**
 * The array formulas the rewrites replaced, written out here independently of the graph: each
 * mistake's terms from the reference evaluation's partial maps and a chain rule by hand (the
 * central partials of S for the two mistakes about var and cov).
 */
function arrayFormulas(ctx: MistakeContext): Record<string, GradientTerms | null> {
  const { e, wrt } = ctx;
  const self = wrt === 'x' ? e.x : e.y;
  const other = wrt === 'x' ? e.y : e.x;
  const g = wrt === 'x' ? e.partialsX : e.partialsY;
  const terms = wrt === 'x' ? e.termsX : e.termsY;
  const T = (v: Float64Array): Float64Array => e.window.transpose(v);
  const chain = (p: { mu: Float64Array; sq: Float64Array; cross: Float64Array }): GradientTerms => {
    const tsq = T(p.sq);
    const tc = T(p.cross);
    return { mean: T(p.mu), square: self.map((v, i) => 2 * v * tsq[i]!), cross: other.map((v, i) => v * tc[i]!) };
  };
  const scaled = (t: GradientTerms, k: number): GradientTerms => ({ mean: t.mean.map((v) => k * v), square: t.square.map((v) => k * v), cross: t.cross.map((v) => k * v) });
  const wt1 = T(new Float64Array(e.window.outShape.reduce((a, b) => a * b, 1)).fill(1));
  const [gm, gs, gc] = [g.mu, g.sq, g.cross].map((m) => onImageGrid(e, m)) as [Float64Array, Float64Array, Float64Array];
  // central partials: dS/dmu (var, cov fixed), dS/dvar, dS/dcov, times omega
  const W = (v: Float64Array): Float64Array => e.window.apply(v);
  const cn = e.config.covNorm;
  const [mx, my] = [W(e.x), W(e.y)];
  const m2 = (a: Float64Array, b: Float64Array): Float64Array => W(a.map((v, i) => v * b[i]!));
  const [mxx, myy, mxy] = [m2(e.x, e.x), m2(e.y, e.y), m2(e.x, e.y)];
  const n = mx.length;
  const env = {
    mu_x: mx, mu_y: my, var_x: mxx.map((v, i) => cn * (v - mx[i]! ** 2)), var_y: myy.map((v, i) => cn * (v - my[i]! ** 2)),
    cov: mxy.map((v, i) => cn * (v - mx[i]! * my[i]!)), C1: new Float64Array(n).fill(e.config.C1), C2: new Float64Array(n).fill(e.config.C2),
  };
  const c = centralSsim().partials;
  const [dmu, dvar, dcov] = (evaluateVec(wrt === 'x' ? [c.mu_x, c.var_x, c.cov] : [c.mu_y, c.var_y, c.cov], env, n) as Float64Array[]).map((a) => a.map((v, i) => e.weights[i]! * v)) as [Float64Array, Float64Array, Float64Array];
  const [muSelf, muOther] = wrt === 'x' ? [mx, my] : [my, mx];
  const omega = e.weights.find((w) => w > 0)!;
  const [N, C, RH, RW] = e.region.outShape;
  const [H, Wd] = [e.workShape[2], e.workShape[3]];
  const normaliser = (count: number): GradientTerms | null => (Math.abs(count * omega - 1) <= 1e-9 ? null : scaled(terms, 1 / (omega * count)));
  let uncropped: GradientTerms | null = null;
  if (e.config.crop > 0) {
    const e0 = evaluateSsim(ctx.x, ctx.y, { ...ctx.options, crop: 0 });
    uncropped = wrt === 'x' ? e0.termsX : e0.termsY;
  }
  return {
    'per-pixel-chain-rule': { mean: wt1.map((w, p) => w * gm[p]!), square: wt1.map((w, p) => w * 2 * self[p]! * gs[p]!), cross: wt1.map((w, p) => w * other[p]! * gc[p]!) },
    'variances-independent-of-means': { mean: T(dmu), square: terms.square, cross: terms.cross },
    'normaliser-plane': normaliser(RH * RW),
    'normaliser-image': normaliser(C * RH * RW),
    'normaliser-all': normaliser(N * C * RH * RW),
    'normaliser-size1-size2': normaliser(C * H),
    'normaliser-uncropped-count': normaliser(N * C * H * Wd),
    'normaliser-none': normaliser(1),
    'sign-flipped': scaled(terms, -1),
    ...Object.fromEntries(BOUNDARIES.filter((b) => BOUNDARY_RULES[b].pads).map((b) => {
      if (e.config.padding === b || !BOUNDARY_RULES[e.config.padding].pads) return [`boundary-transpose-${b}`, null];
      const Wb = windowMean(e.workShape, e.config.taps, b);
      const tsq = Wb.transpose(g.sq);
      const tc = Wb.transpose(g.cross);
      return [`boundary-transpose-${b}`, { mean: Wb.transpose(g.mu), square: self.map((v, i) => 2 * v * tsq[i]!), cross: other.map((v, i) => v * tc[i]!) }];
    })),
    'forward-as-adjoint': !BOUNDARY_RULES[e.config.padding].pads || BOUNDARY_RULES[e.config.padding].selfAdjoint ? null : (() => {
      const tsq = W(g.sq);
      const tc = W(g.cross);
      return { mean: W(g.mu), square: self.map((v, i) => 2 * v * tsq[i]!), cross: other.map((v, i) => v * tc[i]!) };
    })(),
    'sample-covariance-dropped': !e.config.sampleCovariance
      ? null
      : chain({ mu: dmu.map((v, i) => v - 2 * muSelf[i]! * dvar[i]! - muOther[i]! * dcov[i]!), sq: dvar, cross: dcov }),
    'uncropped-mean': uncropped,
    'other-image': wrt === 'x' ? e.termsY : e.termsX,
    'square-term-factor': { ...terms, square: terms.square.map((v) => v / 2) },
  };
}

describe.each(CHECK_CONFIGS)('the rewrites are the array formulas they replaced: $name', (cfg) => {
  const e: SsimEvaluation = evaluateSsim(cfg.x, cfg.y, cfg.options);
  const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: cfg.wrt };
  const formulas = arrayFormulas(ctx);
  it('covers every kind of the library', () => expect(Object.keys(formulas).sort()).toEqual(KNOWN_MISTAKES.map((m) => m.kind).sort()));
  it.each(Object.keys(formulas))('%s: each of the three terms to 1e-13 relative', (kind) => {
    const want = formulas[kind]!;
    const got = KNOWN_MISTAKES.find((m) => m.kind === kind)!.terms(ctx);
    expect(got === null).toBe(want === null);
    if (got === null || want === null) return;
    for (const k of ['mean', 'square', 'cross'] as const) {
      expect(differenceNorms(got[k], want[k]).l2, `${kind} ${k}`).toBeLessThanOrEqual(1e-13 * (norm2(want[k]) || 1));
    }
  });
});

describe('the library of mistakes', () => {
  it('covers every listed kind in at least one configuration', () => {
    const seen = new Set<string>();
    for (const cfg of CHECK_CONFIGS) {
      const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
      const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: cfg.wrt };
      for (const m of applicableMistakes(ctx, cfg.wrt === 'x' ? e.gradX : e.gradY)) seen.add(m.mistake.kind);
    }
    const missing = KNOWN_MISTAKES.map((m) => m.kind).filter((k) => !seen.has(k));
    expect(missing).toEqual([]);
  });

  it('a mistake on top of a wrong normaliser is named with its scale (the seed read literally: divided by H x W)', () => {
    const cfg = CHECK_CONFIGS[0]!;
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, e, wrt: 'x' };
    const perPixel = KNOWN_MISTAKES.find((m) => m.kind === 'per-pixel-chain-rule')!.build(ctx)!;
    const [N, C] = e.shape;
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: perPixel.map((v) => v * N * C) }).report;
    expect(r.diagnosis[0]!.kind).toBe('per-pixel-chain-rule');
    expect(r.mistakes[0]!.matched).toBe('scaled');
    expect(r.mistakes[0]!.scaled!.k).toBeCloseTo(N * C, 9);
  });

  it('a pure scale is diagnosed as one, with the factor', () => {
    const cfg = CHECK_CONFIGS[0]!;
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const r = checkGradient({ x: cfg.x, y: cfg.y, options: cfg.options, wrt: 'x', candidate: e.gradX.map((v) => 1.7 * v) }).report;
    expect(r.verdict).toBe('mismatch');
    expect(r.scale.k).toBeCloseTo(1.7, 12);
    expect(r.diagnosis.find((d) => d.kind === 'unexplained')).toBeDefined();
    expect(r.diagnosis.find((d) => d.kind === 'scale')!.message).toMatch(/is 1\.70000 x the exact gradient/);
  });
});

describe('variantMistakes: a variant\'s library by its name alone', () => {
  it.each(['ssim', 'dssim', '3dgs-loss', 'wang'])('%s: the same kinds as mistakesFor on given images, and the same gradients on them', (name) => {
    const cfg = CHECK_CONFIGS[0]!;
    const options = { ...cfg.options, variant: name };
    const byName = variantMistakes(name, cfg.options);
    const given = mistakesFor(cfg.x, cfg.y, options);
    expect(byName.map((m) => m.kind)).toEqual(given.map((m) => m.kind));
    const e = evaluateSsim(cfg.x, cfg.y, cfg.options);
    const ctx: MistakeContext = { x: cfg.x, y: cfg.y, options: cfg.options, variantOptions: options, e, wrt: cfg.wrt };
    for (const [k, m] of byName.entries()) {
      const a = m.build(ctx);
      const b = given[k]!.build({ ...ctx });
      expect(a === null, m.kind).toBe(b === null);
      if (a !== null && b !== null) expect(differenceNorms(a, b).l2, m.kind).toBeLessThanOrEqual(1e-14 * norm2(b));
    }
  });
});

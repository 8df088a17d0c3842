/**
 * The checker's two paths to the figures a verdict rests on. The whole images at once (small
 * images, the tracer), or, for large images (subsample.ts), the exact gradient and the floor over
 * the whole images and the known mistakes and the terms fit on the plan's strips. Both then take
 * the same steps: the candidate and the floor against the exact gradient (measure), the verdict
 * and the report (verdict.ts).
 */
import { shape4 } from '../field/index.js';
import { evaluateSsim, evaluateVariant, ssimGradFast, type SsimOptions } from '../runtime/index.js';
import { resolveOptions } from '../model/options.js';
import type { VariantDeclaration } from '../variants/types.js';
import { bySsimKernels } from '../variants/registry.js';
import { bandOf, borderBand, termFit } from './compare.js';
import { floorOf, type RoundingFloor } from './floor.js';
import { refuseNonFinite as validate } from './finite.js';
import { applicableMistakes, distinctMistakes, mistakesFor } from '../mistakes/assemble.js';
import type { MistakeContext } from '../mistakes/context.js';
import type { CheckInput, CheckResult } from './schema.js';
import { differenceNorms, norm2, ratio } from './stable.js';
import { cutStrip, describeSubsample, keptRuns, pinnedContext, stripContext, takeKept, wholeRun, type SubsamplePlan } from './subsample.js';
import { variantGradient32, variantPieces } from './variant-model.js';
import { compareWhole, judge } from './verdict.js';

/** The whole images at once: every array over the whole images (small images; the tracer). */
export function checkWhole(input: CheckInput, variant: VariantDeclaration, options: SsimOptions): CheckResult {
  const { x, y, wrt } = input;
  const progress = input.progress ?? (() => {});
  progress(0, 3, 'exact gradient');
  const e = evaluateSsim(x, y, options);
  const D = (v: Float64Array): Float64Array => e.downsample.transpose(v);
  const ssimTerms = () => {
    const t = wrt === 'x' ? e.termsX : e.termsY;
    return { mean: D(t.mean), square: D(t.square), cross: D(t.cross) };
  };
  // computed by the SSIM kernels (plain SSIM): no pieces, the SSIM evaluation's own figures
  const pieces = bySsimKernels(variant) ? undefined : variantPieces(x, y, input.options, wrt);
  const exact = pieces?.exact ?? (wrt === 'x' ? e.gradX : e.gradY);
  const { candidate, floor } = candidateAndFloor(input, exact, pieces?.value ?? e.ssim, e.ssim, () => progress(1, 3, 'rounding floor'));
  const whole = compareWhole(candidate, exact, floor, shape4(x, 'x'), borderBand(e, e.shape), input.float32);
  // a variant's terms: what reaches x through its windowed maps' mu_x, x x and x y, summed over them (the rest taken off the candidate first)
  const t = pieces?.terms ?? ssimTerms();
  const off = pieces?.offset ?? null;
  const terms = termFit(off === null ? candidate : candidate.map((v, i) => v - off[i]!), [t.mean, t.square, t.cross]);
  progress(2, 3, 'known mistakes');
  const context: MistakeContext = { x, y, options, e, wrt, variantOptions: input.options, ...(pieces !== undefined ? { pieces } : {}) };
  const mistakes = applicableMistakes(context, exact, mistakesFor(x, y, input.options));
  const { report, named } = judge({
    input, variant, whole, terms, mistakes, mistakeCandidate: candidate, count: Math.round(1 / e.weights.find((w) => w > 0)!),
    config: e.config, ssim: e.ssim, value: pieces?.value,
  });
  progress(3, 3, 'done');
  return { report, exact, candidate, evaluation: e, context, ...(pieces !== undefined ? { pieces } : {}), named };
}

/**
 * Large images (subsample.ts): the exact gradient and the floor from the generated kernels over
 * the whole images, the known mistakes and the term fit on the plan's strips. The evaluation, the
 * context and the pieces of the result are computed over the whole images when first read.
 */
export function checkSubsampled(input: CheckInput, variant: VariantDeclaration, options: SsimOptions, plan: SubsamplePlan): CheckResult {
  const bySsim = bySsimKernels(variant);
  const { x, y, wrt } = input;
  const progress = input.progress ?? (() => {});
  const units = 3 + plan.strips.length;
  progress(0, units, 'exact gradient');
  let exact: Float64Array;
  let ssim: number;
  let value: number | undefined;
  // pinned tiles (MS-SSIM, MATLAB's downsampling) read the whole images' per-plane and scalar values from this run
  const whole0 = plan.pinned !== undefined ? wholeRun(x, y, plan, wrt) : null;
  if (whole0 !== null) {
    exact = whole0.exact;
    ssim = whole0.ssim;
    if (!bySsim) value = whole0.value;
  } else if (bySsim) {
    // one gradient only: S is symmetric, so d/dy S(x, y) is d/dx S(y, x)
    const r = wrt === 'x' ? ssimGradFast(x, y, options, 'float64', 'x') : ssimGradFast(y, x, options, 'float64', 'x');
    exact = r.gradX.data as Float64Array;
    ssim = r.ssim;
  } else {
    const r = evaluateVariant(x, y, input.options);
    exact = wrt === 'x' ? r.gradX : r.gradY;
    ssim = r.ssim;
    value = r.value;
  }
  const { candidate, floor } = candidateAndFloor(input, exact, value ?? ssim, ssim, () => progress(1, units, 'rounding floor'));
  const config = resolveOptions(options);
  progress(2, units, 'errors');
  const shape = plan.shape;
  const whole = compareWhole(candidate, exact, floor, shape, bandOf(config, shape), input.float32);

  // the strips: each mistake's values on the kept rows, put end to end, scaled by rho
  // the library from a tile's graph (the same nodes as the whole images'), not another float64 copy of the whole images
  const t0 = plan.strips[0]!;
  const library = mistakesFor(cutStrip(x, shape, t0), cutStrip(y, shape, t0), plan.pinned?.options ?? input.options);
  const kept = plan.kept;
  const at = { cand: new Float64Array(kept), offset: new Float64Array(kept), exact: new Float64Array(kept), fromStrips: new Float64Array(kept) };
  const termsKept = { mean: new Float64Array(kept), square: new Float64Array(kept), cross: new Float64Array(kept) };
  const built: Array<Float64Array | null> = library.map(() => new Float64Array(kept));
  let o = 0;
  plan.strips.forEach((s, i) => {
    progress(3 + i, units, `known mistakes, strip ${i + 1} of ${plan.strips.length}`);
    const { ctx, rho, exact: stripExact, terms: t, offset } = whole0 !== null ? pinnedContext(input, plan, s, whole0) : stripContext(input, options, plan, s);
    const runs = keptRuns(shape, s);
    const put = (dst: Float64Array, src: ArrayLike<number>, k: number, from: 'whole' | 'strip'): void => dst.set(takeKept(src, runs, from, k), o);
    put(at.cand, candidate, 1, 'whole');
    // the part of the candidate outside the windowed maps (the 3DGS loss's L1 term), taken off before the terms fit
    if (offset !== null) put(at.offset, offset, rho, 'strip');
    put(at.exact, exact, 1, 'whole');
    put(at.fromStrips, stripExact, rho, 'strip');
    put(termsKept.mean, t.mean, rho, 'strip');
    put(termsKept.square, t.square, rho, 'strip');
    put(termsKept.cross, t.cross, rho, 'strip');
    library.forEach((m, j) => {
      const dst = built[j];
      if (dst === null || dst === undefined) return;
      const g = m.build(ctx);
      if (g === null) built[j] = null;
      else put(dst, g, rho, 'strip');
    });
    o += runs.reduce((n, r) => n + r.length, 0);
  });
  const mistakes = distinctMistakes(library.map((mistake, j) => ({ mistake, gradient: built[j] ?? null })), at.exact);
  const terms = termFit(at.cand.map((v, i) => v - at.offset[i]!), [termsKept.mean, termsKept.square, termsKept.cross]);
  const agreement = ratio(differenceNorms(at.fromStrips, at.exact).l2, norm2(at.exact) || 1);
  const { report, named } = judge({
    input, variant, whole, terms, mistakes, mistakeCandidate: at.cand, count: Math.round(1 / plan.whole.omega), config, ssim, value,
    // the floor's share of the kept values, as if spread evenly (the floor's L2 is a whole-image figure)
    mistakeScale: { exactNorm: norm2(at.exact), floorL2: floor.l2 * Math.sqrt(plan.kept / plan.total) },
    mistakeExact: at.exact,
    subsample: {
      strips: plan.strips.map((s) => ({
        plane: s.plane, rows: [s.keep[0], s.keep[1]] as const, cut: [s.cut[0], s.cut[1]] as const,
        columns: [s.keepCols[0], s.keepCols[1]] as const, cutColumns: [s.cutCols[0], s.cutCols[1]] as const,
      })),
      halo: plan.halo,
      values: plan.kept,
      of: plan.total,
      exactAgreement: agreement,
      note: describeSubsample(plan),
    },
  });
  progress(units, units, 'done');
  const lazy = <T,>(f: () => T): (() => T) => {
    let v: { value: T } | undefined;
    return () => (v ??= { value: f() }).value;
  };
  const evaluation = lazy(() => evaluateSsim(x, y, options));
  const pieces = lazy(() => (bySsim ? undefined : variantPieces(x, y, input.options, wrt)));
  const result = { report, exact, candidate, named } as CheckResult;
  Object.defineProperty(result, 'evaluation', { get: evaluation, enumerable: true });
  Object.defineProperty(result, 'context', {
    get: lazy((): MistakeContext => { const p = pieces(); return { x, y, options, e: evaluation(), wrt, ...(p !== undefined ? { pieces: p } : {}) }; }),
    enumerable: true,
  });
  if (!bySsim) Object.defineProperty(result, 'pieces', { get: pieces, enumerable: true });
  return result;
}

/**
 * What both paths do once they have the exact gradient: refuse a value or gradient that is not
 * finite, take the candidate, and measure the floor (the variant's gradient in float32
 * arithmetic: plain SSIM's is its generated float32 kernels) and refuse it when not finite.
 */
function candidateAndFloor(
  input: CheckInput, exact: Float64Array, value: number, ssim: number, atFloor: () => void,
): { candidate: Float64Array; floor: RoundingFloor } {
  validate(input, { value, ssim, exact });
  const candidate = candidateOf(input, exact.length);
  atFloor();
  const floor = floorOf(variantGradient32(input.x, input.y, input.options, input.wrt), exact);
  validate(input, { floor });
  return { candidate, floor };
}

/** The candidate as float64 (the loader's array as it is when it already is one: it is not written to). */
function candidateOf(input: CheckInput, n: number): Float64Array {
  if (input.candidate.length !== n) throw new Error(`checkGradient: candidate has ${input.candidate.length} values, expected ${n}`);
  return input.candidate instanceof Float64Array ? input.candidate : Float64Array.from(input.candidate);
}


/**
 * The checker: compares a candidate gradient with the exact one, decides whether the difference
 * is rounding (against the measured floor), and says what the mistake is when it is not.
 */
import { shape4, type Shape4, type Tensor } from '../field/index.js';
import { evaluateSsim, evaluateVariant, ssimGradFast, type SsimConfig, type SsimEvaluation, type SsimOptions } from '../ssim/index.js';
import { downsampleFactor, resolveOptions, validateOptions } from '../ssim/options.js';
import { regionErrors, scaleFit, scaleFitDetail, termFit, type RegionErrors, type ScaleFit, type TermFit } from './compare.js';
import { FLOOR_ALLOWANCE, relativeScale, roundingFloor, type RoundingFloor } from './floor.js';
import { refuseNonFinite as validate } from './finite.js';
import { differenceNorms, maxAbsOf, norm2, ratio } from './stable.js';
import { applicableMistakes, distinctMistakes, mistakesFor } from '../mistakes/assemble.js';
import { type KnownMistake, type MistakeContext } from '../mistakes/context.js';
import { cutStrip, describeSubsample, keptRuns, pinnedContext, planFor, stripContext, takeKept, wholeRun, type SubsampleOptions, type SubsamplePlan } from './subsample.js';
import { declarationOf, isPlain, plainOptions, variantGradient32, variantPieces, type VariantPieces } from './variant-model.js';
import { PLAIN } from '../variants/registry.js';
import type { VariantDeclaration } from '../variants/types.js';
import { floorOf } from './floor.js';
import type { VariantOptions } from '../ssim/index.js';

/**
 * How close a float32 candidate must come to a known mistake to be named by it: a float32
 * implementation of a wrong formula rounds differently from the exact gradient's float32
 * floor (the wrong formula has its own cancellations), so it is held to 1e-4 relative L2 rather
 * than to the floor. Known mistakes differ from each other by 1e-2 or more on the fixtures.
 */
export const FLOAT32_MISTAKE_TOLERANCE = 1e-4;

/** One entry of the diagnosis. */
export interface Diagnosis {
  /** 'rounding', 'scale', 'where', 'terms', 'unexplained', or a known mistake's kind. */
  readonly kind: string;
  readonly message: string;
  /** For a known mistake: why it goes wrong, and the right formula. */
  readonly explanation?: string;
  readonly correctFormula?: string;
}

/** How a candidate compares with one known mistake. */
export interface MistakeDistance {
  readonly kind: string;
  readonly title: string;
  /** ||candidate - mistake|| / ||mistake|| (over the allowance where the mistake is smaller: relativeScale). */
  readonly distance: number;
  /**
   * For mistakes that are not themselves scales: the best scale of the mistake and the distance after
   * it; null also where k times the mistake is within the allowance of zero (k = 0 for a zero candidate).
   */
  readonly scaled: { readonly k: number; readonly distance: number } | null;
  /** The distance within which it is named: the mistake tolerance, less for a mistake larger than the exact gradient. */
  readonly tolerance: number;
  /** 'as-is' when within tolerance unscaled, 'scaled' when only after the scale, else false. */
  readonly matched: 'as-is' | 'scaled' | false;
}

/** Everything `check` reports; plain data (JSON as it is). */
export interface CheckReport {
  readonly verdict: 'match' | 'mismatch';
  readonly wrt: 'x' | 'y';
  readonly shape: readonly number[];
  readonly ssim: number;
  /** For a variant (--variant): its name, options and value (the quantity whose gradient is checked); absent for plain SSIM. */
  readonly variant?: { readonly name: string; readonly value: number; readonly options: Readonly<Record<string, number | readonly number[]>> };
  readonly configuration: Readonly<Record<string, string | number | boolean>>;
  readonly maxAbsError: number;
  /** ||candidate - exact||_2. */
  readonly l2Error: number;
  /**
   * ||candidate - exact||_2 / ||exact||_2, or over the allowance (FLOOR_ALLOWANCE x the floor's L2)
   * where the exact gradient is within it of zero and has no scale of its own (relativeScale).
   */
  readonly relError: number;
  readonly maxAbsExact: number;
  readonly roundingFloor: RoundingFloor;
  /** The verdict: match when both errors are at most `factor` times the floor's. */
  readonly allowance: { readonly factor: number; readonly maxAbs: number; readonly l2: number };
  readonly errorOverFloor: { readonly maxAbs: number; readonly l2: number };
  readonly candidateIsFloat32: boolean;
  readonly regions: RegionErrors;
  readonly scale: ScaleFit;
  readonly terms: TermFit;
  /** Relative distance within which a known mistake is named, and why that much. */
  readonly mistakeTolerance: { readonly value: number; readonly reason: string };
  /** Known mistakes that apply to this configuration, nearest first. */
  readonly mistakes: readonly MistakeDistance[];
  readonly diagnosis: readonly Diagnosis[];
  /**
   * Present when the images were large enough to subsample: `mistakes`, `terms` and the names in
   * `diagnosis` come from these strips; everything else from the whole images.
   */
  readonly subsample?: SubsampleReport;
}

/** The report with the arrays it was made from (for the heatmap and the tracer). */
export interface CheckResult {
  readonly report: CheckReport;
  readonly exact: Float64Array;
  readonly candidate: Float64Array;
  readonly evaluation: SsimEvaluation;
  readonly context: MistakeContext;
  /** For a variant: its exact gradient taken apart. */
  readonly pieces?: VariantPieces;
  /** The known mistake named first, if any. */
  readonly named: KnownMistake | null;
}

export interface CheckInput {
  readonly x: Tensor;
  readonly y: Tensor;
  /** SSIM's options, with a variant's (variant, weights, lambda, ...) when it checks one. */
  readonly options: VariantOptions;
  readonly wrt: 'x' | 'y';
  /** The candidate gradient, with x's size (C order). */
  readonly candidate: ArrayLike<number>;
  /** Whether the candidate holds float32 values; detected (every value float32-representable) when omitted. */
  readonly float32?: boolean;
  /**
   * When to fit the known mistakes and the terms on a subsample of large images (subsample.ts), or
   * false to use the whole images whatever their size. Default: SUBSAMPLE_DEFAULTS.
   */
  readonly subsample?: SubsampleOptions | false;
  /** Called as the work proceeds (the CLI's progress bar). */
  readonly progress?: CheckProgress;
  /** The images' names for the message that refuses a result that is not finite (the CLI's file names); default 'x', 'y'. */
  readonly names?: { readonly x: string; readonly y: string };
}

/** Where the known mistakes and the term fit were evaluated, when not on the whole images. */
export interface SubsampleReport {
  /**
   * Per tile: the plane (n C + c), the image rows and columns [start, end) compared, and the rows and
   * columns [start, end) cut out with the halo.
   */
  readonly strips: ReadonlyArray<{
    readonly plane: number;
    readonly rows: readonly [number, number];
    readonly cut: readonly [number, number];
    readonly columns: readonly [number, number];
    readonly cutColumns: readonly [number, number];
  }>;
  /** Pixels of halo beyond the compared ones at a cut (2r + crop): with it the tiles' gradients are the whole images'. */
  readonly halo: number;
  /** Values compared, of the whole images'. */
  readonly values: number;
  readonly of: number;
  /** ||exact from the strips - exact|| / ||exact|| over the compared values: rounding only (about 1e-15) when the strips are sound. */
  readonly exactAgreement: number;
  /** The same in words. */
  readonly note: string;
}

const isFloat32Valued = (a: ArrayLike<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]!) !== a[i]) return false;
  return true;
};

const e2 = (v: number): string => v.toExponential(2);

/** The border band: pixels whose gradient involves the boundary rule, the map's edge or the crop. */
export function borderBand(e: SsimEvaluation, inputShape: Shape4): number {
  return bandOf(e.config, inputShape);
}

/** borderBand from the configuration alone (what the checker uses when it has no whole-image evaluation). */
export function bandOf(config: SsimConfig, inputShape: Shape4): number {
  const r = (config.size - 1) / 2;
  const f = downsampleFactor(config, inputShape[2], inputShape[3]);
  return (config.padding === 'valid' ? 2 * r : r) * f + config.crop * f;
}

/** Checks a candidate gradient against the exact one. */
export function checkGradient(input: CheckInput): CheckResult {
  validateOptions(input.options); // before anything reads them: wrong types and unknown keys named
  // null: plain SSIM (the report has no `variant`, the floor comes from its generated float32 kernels)
  const variant = isPlain(input.options) ? null : declarationOf(input.options);
  const options: SsimOptions = variant === null ? input.options : plainOptions(input.options);
  const plan = input.subsample === false ? null : planFor(input.x, resolveOptions(options), variant ?? PLAIN, input.subsample, input.options);
  return plan === null ? checkWhole(input, variant, options) : checkSubsampled(input, variant, options, plan);
}

/** Reports progress: `done` of `total` units of work, and what runs now. */
export type CheckProgress = (done: number, total: number, what: string) => void;

/** The whole images at once: every array over the whole images (small images; the tracer). */
function checkWhole(input: CheckInput, variant: VariantDeclaration | null, options: SsimOptions): CheckResult {
  const { x, y, wrt } = input;
  const progress = input.progress ?? (() => {});
  progress(0, 3, 'exact gradient');
  const e = evaluateSsim(x, y, options);
  const D = (v: Float64Array): Float64Array => e.downsample.transpose(v);
  const ssimTerms = () => {
    const t = wrt === 'x' ? e.termsX : e.termsY;
    return { mean: D(t.mean), square: D(t.square), cross: D(t.cross) };
  };
  const pieces = variant === null ? undefined : variantPieces(x, y, input.options, wrt);
  const exact = pieces?.exact ?? (wrt === 'x' ? e.gradX : e.gradY);
  validate(input, { value: pieces?.value ?? e.ssim, ssim: e.ssim, exact });
  const candidate = candidateOf(input, exact.length);
  progress(1, 3, 'rounding floor');
  const floor = pieces === undefined ? roundingFloor(x, y, options, wrt, exact) : floorOf(variantGradient32(x, y, input.options, wrt), exact);
  validate(input, { floor });
  const whole = compareWhole(candidate, exact, floor, shape4(x, 'x'), borderBand(e, e.shape), input.float32);
  // a variant's terms: what reaches x through its windowed maps' mu_x, x x and x y, summed over them (the rest taken off the candidate first)
  const t = pieces?.terms ?? ssimTerms();
  const off = pieces?.offset ?? null;
  const terms = termFit(off === null ? candidate : candidate.map((v, i) => v - off[i]!), [t.mean, t.square, t.cross]);
  progress(2, 3, 'known mistakes');
  const context: MistakeContext = { x, y, options, e, wrt, variantOptions: input.options, ...(pieces !== undefined ? { pieces } : {}) };
  const mistakes = applicableMistakes(context, exact, mistakesFor(x, y, input.options));
  const { report, named } = finish({
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
function checkSubsampled(input: CheckInput, variant: VariantDeclaration | null, options: SsimOptions, plan: SubsamplePlan): CheckResult {
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
    if (variant !== null) value = whole0.value;
  } else if (variant === null) {
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
  validate(input, { value: value ?? ssim, ssim, exact });
  const candidate = candidateOf(input, exact.length);
  progress(1, units, 'rounding floor');
  const config = resolveOptions(options);
  const floor = variant === null ? roundingFloor(x, y, options, wrt, exact) : floorOf(variantGradient32(x, y, input.options, wrt), exact);
  validate(input, { floor });
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
  const { report, named } = finish({
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
  const pieces = lazy(() => (variant === null ? undefined : variantPieces(x, y, input.options, wrt)));
  const result = { report, exact, candidate, named } as CheckResult;
  Object.defineProperty(result, 'evaluation', { get: evaluation, enumerable: true });
  Object.defineProperty(result, 'context', {
    get: lazy((): MistakeContext => { const p = pieces(); return { x, y, options, e: evaluation(), wrt, ...(p !== undefined ? { pieces: p } : {}) }; }),
    enumerable: true,
  });
  if (variant !== null) Object.defineProperty(result, 'pieces', { get: pieces, enumerable: true });
  return result;
}

/** The candidate as float64 (the loader's array as it is when it already is one: it is not written to). */
function candidateOf(input: CheckInput, n: number): Float64Array {
  if (input.candidate.length !== n) throw new Error(`checkGradient: candidate has ${input.candidate.length} values, expected ${n}`);
  return input.candidate instanceof Float64Array ? input.candidate : Float64Array.from(input.candidate);
}

/** What the verdict and the whole-image comparison rest on. */
interface WholeComparison {
  readonly floor: RoundingFloor;
  readonly err: { maxAbs: number; l2: number };
  readonly exactNorm: number;
  readonly maxAbsExact: number;
  /** The candidate holds float32 values (as given, or detected). */
  readonly float32: boolean;
  readonly candidateNorm: number;
  readonly regions: RegionErrors;
  readonly scale: ScaleFit;
}

function compareWhole(candidate: Float64Array, exact: Float64Array, floor: RoundingFloor, shape: Shape4, band: number, float32?: boolean): WholeComparison {
  const maxAbsExact = maxAbsOf(exact);
  return {
    floor,
    err: differenceNorms(candidate, exact),
    exactNorm: norm2(exact),
    maxAbsExact,
    float32: float32 ?? isFloat32Valued(candidate),
    candidateNorm: norm2(candidate),
    regions: regionErrors(candidate, exact, shape, band, floor.l2),
    scale: scaleFit(candidate, exact),
  };
}

/** The report from the whole-image comparison and the mistakes (over the whole images or the subsample). */
function finish(a: {
  input: CheckInput;
  /** The variant's declaration, or null for plain SSIM. */
  variant: VariantDeclaration | null;
  whole: WholeComparison;
  terms: TermFit;
  mistakes: ReadonlyArray<{ mistake: KnownMistake; gradient: Float64Array }>;
  /** The candidate over the same values as the mistakes' gradients. */
  mistakeCandidate: Float64Array;
  /** The exact gradient's norm and the floor's L2 over those values (the whole image's unless subsampled). */
  mistakeScale?: { exactNorm: number; floorL2: number };
  /** The exact gradient over the subsample's values (when the mistakes ran on a subsample). */
  mistakeExact?: Float64Array;
  /** The count of the mean (1/omega), for the scale diagnosis. */
  count: number;
  config: SsimConfig;
  ssim: number;
  value: number | undefined;
  subsample?: SubsampleReport;
}): { report: CheckReport; named: KnownMistake | null } {
  const { input, variant, whole: w, terms } = a;
  const { floor, err } = w;
  const candidate = a.mistakeCandidate;
  const float32 = w.float32;
  const K = FLOOR_ALLOWANCE;
  const allowance = { factor: K, maxAbs: K * floor.maxAbs, l2: K * floor.l2 };
  // a match needs finite errors within finite allowances: NaN compares false, and Infinity <= Infinity must not pass
  const within = (e: number, allowed: number): boolean => Number.isFinite(e) && Number.isFinite(allowed) && e <= allowed;
  const verdict = within(err.maxAbs, allowance.maxAbs) && within(err.l2, allowance.l2) ? 'match' : 'mismatch';

  // relative to the larger of the exact gradient and the mistake: where the exact gradient is ~0 (x = y)
  // a mistake that is not (the factor 2 of d(x^2)/dx dropped) must come within the allowance itself
  const ms = a.mistakeScale ?? { exactNorm: w.exactNorm, floorL2: floor.l2 };
  const tolOf = (mistakeNorm: number, s = ms): number =>
    Math.max((K * s.floorL2) / relativeScale(Math.max(s.exactNorm, mistakeNorm), s.floorL2), float32 ? FLOAT32_MISTAKE_TOLERANCE : 0);
  const tolValue = tolOf(0);
  const mistakeTolerance = {
    value: tolValue,
    reason: float32 && FLOAT32_MISTAKE_TOLERANCE > K * floor.relL2
      ? `the candidate holds float32 values: ${FLOAT32_MISTAKE_TOLERANCE} relative L2 (a float32 implementation of a wrong formula rounds on its own)`
      : `${K} x the floor's relative L2 (${e2(floor.relL2)})`,
  };

  // the candidate over the mistakes' values, and whether it is within the allowance of zero there
  const candidateNorm = norm2(candidate);
  const blank = !(candidateNorm > K * ms.floorL2);
  const built: Array<{ m: KnownMistake; d: MistakeDistance }> = [];
  for (const { mistake: m, gradient: g } of a.mistakes) {
    const gn = norm2(g);
    // a mistake within the allowance of zero (most of them where x = y) has no scale of its own
    const distance = ratio(differenceNorms(candidate, g).l2, relativeScale(gn, ms.floorL2));
    let scaled: MistakeDistance['scaled'] = null;
    let kn = 0;
    if (!m.scaleOnly) {
      // ||candidate - k g|| is the fit's residual times ||candidate||, and ||k g|| its fitted norm: no k g formed (k may be huge)
      const s = scaleFitDetail(candidate, g);
      kn = s.fittedNorm;
      // a best scale whose k g is within the allowance of zero (k = 0 for a zero candidate) explains nothing: no scaled figure
      scaled = kn > K * ms.floorL2 ? { k: s.k, distance: ratio(s.residual * candidateNorm, relativeScale(kn, ms.floorL2)) } : null;
    }
    const tolerance = tolOf(gn);
    // a candidate within the allowance of zero carries nothing to name a mistake by (it "equals" 0 x any of them),
    // and a scaled match needs a fitted part above the allowance too
    const matched = blank ? false
      : distance <= tolerance ? 'as-is'
      : scaled !== null && kn > K * ms.floorL2 && scaled.distance <= tolOf(kn) ? 'scaled' : false;
    built.push({ m, d: { kind: m.kind, title: m.title, distance, scaled, tolerance, matched } });
  }
  const best = (d: MistakeDistance): number => Math.min(d.distance, d.scaled?.distance ?? Infinity);
  built.sort((p, q) => best(p.d) - best(q.d) || p.d.distance - q.d.distance);
  const mistakes = built.map((b) => b.d);

  const diagnosis: Diagnosis[] = [];
  let named: KnownMistake | null = null;
  // subsampled: the tiles hold no error beyond rounding, so what ran on them says nothing of the mismatch
  const tilesBlind = a.mistakeExact !== undefined && differenceNorms(candidate, a.mistakeExact).l2 <= K * ms.floorL2;
  if (verdict === 'match') {
    diagnosis.push({
      kind: 'rounding',
      message: `within rounding: max abs error ${e2(err.maxAbs)} is ${(err.maxAbs / floor.maxAbs).toPrecision(2)} x the floor, L2 error ${(err.l2 / floor.l2).toPrecision(2)} x (a match allows ${K} x)`,
    });
  } else if (tilesBlind) {
    diagnosis.push({
      kind: 'unexplained',
      message: `the candidate equals the exact gradient on the ${a.subsample?.strips.length ?? 0} sampled tiles, so the known mistakes and the terms fit (which run on them) cannot say what its error is; see where it lies`,
    });
  } else {
    for (const { m, d } of built) {
      if (d.matched === false) continue;
      named ??= m;
      const how = d.matched === 'as-is'
        ? `the candidate equals this mistake to ${e2(d.distance)} relative L2`
        : `the candidate equals ${d.scaled!.k.toPrecision(6)} x this mistake to ${e2(d.scaled!.distance)} relative L2 (a wrong normaliser on top of it)`;
      diagnosis.push({ kind: m.kind, message: `${m.title}: ${how}`, explanation: m.explanation, correctFormula: m.correctFormula });
    }
    if (named === null) {
      const c = built[0];
      diagnosis.push({
        kind: 'unexplained',
        message: blank
          ? (w.candidateNorm === 0
            ? 'the candidate is zero everywhere: it carries nothing to name a known mistake by'
            : `the candidate is within the allowance of zero${a.subsample !== undefined ? ' on the sampled tiles' : ''} (L2 norm ${e2(candidateNorm)}, allowed ${e2(K * ms.floorL2)}): it carries nothing to name a known mistake by`)
          : c === undefined
          ? 'not one of the known mistakes'
          : `not one of the ${built.length} known mistakes that apply here; the nearest is "${c.d.title}" at ${e2(best(c.d))} relative L2 (a name needs ${e2(c.d.tolerance)})`,
      });
    }
  }
  if (verdict === 'mismatch') {
    // residuals relative to the candidate: where the exact gradient is ~0, the allowance over the candidate's norm
    const candidateTol = tolOf(w.candidateNorm, { exactNorm: w.exactNorm, floorL2: floor.l2 });
    diagnosis.push(scaleDiagnosis(w.scale, candidateTol, a.count, w.candidateNorm, variant ?? PLAIN));
    diagnosis.push(whereDiagnosis(w.regions, K * floor.relL2));
    // the terms fit, unless it ran on tiles that hold no error
    if (w.candidateNorm === 0) diagnosis.push({ kind: 'terms', message: 'the candidate is zero everywhere: no combination of the terms to fit' });
    else if (!tilesBlind) diagnosis.push(termsDiagnosis(terms, candidateTol));
  }

  const cfg = a.config;
  const report: CheckReport = {
    verdict,
    wrt: input.wrt,
    shape: [...input.x.shape],
    ssim: a.ssim,
    ...(variant !== null ? { variant: { name: variant.name, value: a.value!, options: variantOptionValues(input.options, variant) } } : {}),
    configuration: {
      preset: cfg.preset, window: cfg.window, size: cfg.size, sigma: cfg.sigma, padding: cfg.padding, C1: cfg.C1, C2: cfg.C2,
      sampleCovariance: cfg.sampleCovariance, crop: cfg.crop, downsample: String(cfg.downsample), reduction: cfg.reduction,
    },
    maxAbsError: err.maxAbs,
    l2Error: err.l2,
    relError: ratio(err.l2, relativeScale(w.exactNorm, floor.l2)),
    maxAbsExact: w.maxAbsExact,
    roundingFloor: floor,
    allowance,
    // clamped to float64's largest where the quotient overflows (a candidate value near 1e300 over a tiny floor)
    errorOverFloor: { maxAbs: ratio(err.maxAbs, floor.maxAbs), l2: ratio(err.l2, floor.l2) },
    candidateIsFloat32: float32,
    regions: w.regions,
    scale: w.scale,
    terms,
    mistakeTolerance,
    mistakes,
    diagnosis,
    ...(a.subsample !== undefined ? { subsample: a.subsample } : {}),
  };
  return { report, named };
}

/** The variant's own number options as given (for the report; field options are tensors and stay out). */
function variantOptionValues(o: VariantOptions, decl: VariantDeclaration): Record<string, number | readonly number[]> {
  const given: Readonly<Record<string, unknown>> = { ...o, ...((o as { variantOptions?: Readonly<Record<string, unknown>> }).variantOptions ?? {}) };
  const out: Record<string, number | readonly number[]> = {};
  for (const [k, option] of Object.entries(decl.options ?? {})) {
    if (option.kind !== 'field' && given[k] !== undefined) out[k] = given[k] as number | readonly number[];
  }
  return out;
}

function scaleDiagnosis(scale: ScaleFit, tol: number, count: number, candidateNorm: number, variant: VariantDeclaration): Diagnosis {
  if (candidateNorm === 0) return { kind: 'scale', message: 'the candidate is zero everywhere' };
  if (scale.residual <= tol) {
    return {
      kind: 'scale',
      message: `the candidate is ${scale.k.toPrecision(6)} x the exact gradient (residual ${e2(scale.residual)}): a normalisation or sign mistake; ` +
        `${variant.scaleNote ?? 'the exact gradient carries d value/d ssim'} (the mean over ${count} map pixels carries 1/${count})`,
    };
  }
  return {
    kind: 'scale',
    message: `no single scale explains it: the best, ${scale.k.toPrecision(4)} x exact, leaves ${(100 * scale.residual).toPrecision(3)} % of the candidate unexplained`,
  };
}

function whereDiagnosis(r: RegionErrors, allowedRel: number): Diagnosis {
  const I = r.interior.relL2;
  const B = r.border.relL2;
  const off = r.channels.filter((c) => c.interior.relL2 > allowedRel || c.border.relL2 > allowedRel).map((c) => c.channel);
  const channels = off.length < r.channels.length ? `; only channel${off.length === 1 ? '' : 's'} ${off.join(', ')} (of ${r.channels.length}) differ` : '';
  let message: string;
  if (r.interior.count > 0 && I <= allowedRel && B > allowedRel) {
    message = `confined to the border band (${r.band} px from the edges): relative error ${e2(B)} there, ${e2(I)} inside; look at the boundary rule and its transpose`;
  } else if (r.border.count > 0 && B <= allowedRel && I > allowedRel) {
    message = `confined to the interior (relative error ${e2(I)}; border band ${e2(B)})`;
  } else {
    const ratio = I > 0 ? B / I : Infinity;
    const lean = ratio > 3 ? ', larger in the border band' : ratio < 1 / 3 ? ', larger inside' : '';
    message = `everywhere${lean}: relative error ${e2(I)} in the interior, ${e2(B)} in the border band (${r.band} px)`;
  }
  return { kind: 'where', message: message + channels };
}

function termsDiagnosis(t: TermFit, tol: number): Diagnosis {
  // on constant images, say, the terms are not independent; the fit leaves what they cannot tell apart at 1
  const rank = t.rank < 3 ? ` (the three terms span only ${t.rank} direction${t.rank === 1 ? '' : 's'} on these inputs; what they cannot tell apart is left at 1)` : '';
  const c = `${t.mean.toPrecision(4)} W^T g_mu + ${t.square.toPrecision(4)} (2x W^T g_xx) + ${t.cross.toPrecision(4)} (y W^T g_xy)${rank}`;
  if (t.residual <= tol) {
    const off = (['mean', 'square', 'cross'] as const).filter((k) => Math.abs(t[k] - 1) > 10 * tol);
    return { kind: 'terms', message: `candidate = ${c} (residual ${e2(t.residual)}): ${off.length === 0 ? 'every term as in the exact gradient' : `the ${off.join(' and ')} term${off.length > 1 ? 's are' : ' is'} scaled`}` };
  }
  return {
    kind: 'terms',
    message: `not a combination of the three exact terms: the best, ${c}, leaves ${(100 * t.residual).toPrecision(3)} % of the candidate; the terms themselves are computed differently`,
  };
}

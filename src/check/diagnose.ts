/**
 * The checker: compares a candidate gradient with the exact one, decides whether the difference
 * is rounding (against the measured floor), and says what the mistake is when it is not.
 */
import type { Shape4, Tensor } from '../field/index.js';
import { evaluateSsim, type SsimEvaluation, type SsimOptions } from '../ssim/index.js';
import { downsampleFactor } from '../ssim/options.js';
import { regionErrors, scaleFit, termFit, type RegionErrors, type ScaleFit, type TermFit } from './compare.js';
import { differenceNorms, FLOOR_ALLOWANCE, norm2, relativeScale, roundingFloor, type RoundingFloor } from './floor.js';
import { applicableMistakes, type KnownMistake, type MistakeContext } from './mistakes.js';
import { variantMistakes } from './variant-mistakes.js';
import { plainOptions, variantGradient32, variantOf, variantPieces, type VariantPieces } from './variant-model.js';
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
  /** For mistakes that are not themselves scales: the best scale of the mistake and the distance after it. */
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
}

const isFloat32Valued = (a: ArrayLike<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]!) !== a[i]) return false;
  return true;
};

const e2 = (v: number): string => v.toExponential(2);

/** The border band: pixels whose gradient involves the boundary rule, the map's edge or the crop. */
export function borderBand(e: SsimEvaluation, inputShape: Shape4): number {
  const r = (e.config.size - 1) / 2;
  const f = downsampleFactor(e.config, inputShape[2], inputShape[3]);
  return (e.config.padding === 'valid' ? 2 * r : r) * f + e.config.crop * f;
}

/** Checks a candidate gradient against the exact one. */
export function checkGradient(input: CheckInput): CheckResult {
  const { x, y, wrt } = input;
  const variant = variantOf(input.options);
  const options: SsimOptions = variant === 'ssim' ? input.options : plainOptions(input.options);
  const e = evaluateSsim(x, y, options);
  const D = (v: Float64Array): Float64Array => e.downsample.transpose(v);
  const ssimTerms = () => {
    const t = wrt === 'x' ? e.termsX : e.termsY;
    return { mean: D(t.mean), square: D(t.square), cross: D(t.cross) };
  };
  const pieces = variant === 'ssim' ? undefined : variantPieces(x, y, input.options, wrt, ssimTerms);
  const exact = pieces?.exact ?? (wrt === 'x' ? e.gradX : e.gradY);
  if (input.candidate.length !== exact.length) throw new Error(`checkGradient: candidate has ${input.candidate.length} values, expected ${exact.length}`);
  const candidate = Float64Array.from(input.candidate);
  const float32 = input.float32 ?? isFloat32Valued(candidate);
  // the loss's own gradient scale per pixel (largest reduction weight over L): what a floor of zero is raised to
  let unit = 0;
  for (const w of e.weights) unit = Math.max(unit, w / e.config.dataRange);
  const floor = pieces === undefined ? roundingFloor(x, y, options, wrt, exact, unit) : floorOf(variantGradient32(x, y, input.options, wrt), exact, unit);
  const err = differenceNorms(candidate, exact);
  const exactNorm = norm2(exact);
  let maxAbsExact = 0;
  for (const v of exact) maxAbsExact = Math.max(maxAbsExact, Math.abs(v));
  const K = FLOOR_ALLOWANCE;
  const allowance = { factor: K, maxAbs: K * floor.maxAbs, l2: K * floor.l2 };
  const verdict = err.maxAbs <= allowance.maxAbs && err.l2 <= allowance.l2 ? 'match' : 'mismatch';

  const shape = e.shape;
  const regions = regionErrors(candidate, exact, shape, borderBand(e, shape), floor.l2);
  const scale = scaleFit(candidate, exact);
  // a variant's terms: SSIM's times d value/d ssim (the L1 term taken off the candidate first), Wang's, or MS-SSIM's summed over scales
  const t = pieces?.terms ?? ssimTerms();
  const off = pieces?.offset ?? null;
  const terms = termFit(off === null ? candidate : candidate.map((v, i) => v - off[i]!), [t.mean, t.square, t.cross]);

  // relative to the larger of the exact gradient and the mistake: where the exact gradient is ~0 (x = y)
  // a mistake that is not (the factor 2 of d(x^2)/dx dropped) must come within the allowance itself
  const tolOf = (mistakeNorm: number): number =>
    Math.max((K * floor.l2) / relativeScale(Math.max(exactNorm, mistakeNorm), floor.l2), float32 ? FLOAT32_MISTAKE_TOLERANCE : 0);
  const tolValue = tolOf(0);
  const mistakeTolerance = {
    value: tolValue,
    reason: float32 && FLOAT32_MISTAKE_TOLERANCE > K * floor.relL2
      ? `the candidate holds float32 values: ${FLOAT32_MISTAKE_TOLERANCE} relative L2 (a float32 implementation of a wrong formula rounds on its own)`
      : `${K} x the floor's relative L2 (${e2(floor.relL2)})`,
  };

  const context: MistakeContext = { x, y, options, e, wrt, ...(pieces !== undefined ? { pieces } : {}) };
  const built: Array<{ m: KnownMistake; d: MistakeDistance }> = [];
  for (const { mistake: m, gradient: g } of applicableMistakes(context, exact, variantMistakes(variant))) {
    const gn = norm2(g);
    // a mistake within the allowance of zero (most of them where x = y) has no scale of its own
    const distance = differenceNorms(candidate, g).l2 / relativeScale(gn, floor.l2);
    let scaled: MistakeDistance['scaled'] = null;
    let kn = 0;
    if (!m.scaleOnly) {
      const s = scaleFit(candidate, g);
      const kg = g.map((v) => s.k * v);
      kn = norm2(kg);
      scaled = { k: s.k, distance: differenceNorms(candidate, kg).l2 / relativeScale(kn, floor.l2) };
    }
    const tolerance = tolOf(gn);
    const matched = distance <= tolerance ? 'as-is' : scaled !== null && scaled.distance <= tolOf(kn) ? 'scaled' : false;
    built.push({ m, d: { kind: m.kind, title: m.title, distance, scaled, tolerance, matched } });
  }
  const best = (d: MistakeDistance): number => Math.min(d.distance, d.scaled?.distance ?? Infinity);
  built.sort((a, b) => best(a.d) - best(b.d) || a.d.distance - b.d.distance);
  const mistakes = built.map((b) => b.d);

  const diagnosis: Diagnosis[] = [];
  let named: KnownMistake | null = null;
  if (verdict === 'match') {
    diagnosis.push({
      kind: 'rounding',
      message: `within rounding: max abs error ${e2(err.maxAbs)} is ${(err.maxAbs / floor.maxAbs).toPrecision(2)} x the floor, L2 error ${(err.l2 / floor.l2).toPrecision(2)} x (a match allows ${K} x)`,
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
        message: c === undefined
          ? 'not one of the known mistakes'
          : `not one of the ${built.length} known mistakes that apply here; the nearest is "${c.d.title}" at ${e2(best(c.d))} relative L2 (a name needs ${e2(c.d.tolerance)})`,
      });
    }
    // residuals relative to the candidate: where the exact gradient is ~0, the allowance over the candidate's norm
    const candidateTol = tolOf(norm2(candidate));
    diagnosis.push(scaleDiagnosis(scale, candidateTol, e, norm2(candidate), variant));
    diagnosis.push(whereDiagnosis(regions, K * floor.relL2));
    diagnosis.push(termsDiagnosis(terms, candidateTol));
  }

  const cfg = e.config;
  const report: CheckReport = {
    verdict,
    wrt,
    shape: [...x.shape],
    ssim: e.ssim,
    ...(pieces !== undefined ? { variant: { name: variant, value: pieces.value, options: variantOptionValues(input.options) } } : {}),
    configuration: {
      preset: cfg.preset, window: cfg.window, size: cfg.size, sigma: cfg.sigma, padding: cfg.padding, C1: cfg.C1, C2: cfg.C2,
      sampleCovariance: cfg.sampleCovariance, crop: cfg.crop, downsample: String(cfg.downsample), reduction: cfg.reduction,
    },
    maxAbsError: err.maxAbs,
    l2Error: err.l2,
    relError: err.l2 / relativeScale(exactNorm, floor.l2),
    maxAbsExact,
    roundingFloor: floor,
    allowance,
    errorOverFloor: { maxAbs: err.maxAbs / floor.maxAbs, l2: err.l2 / floor.l2 },
    candidateIsFloat32: float32,
    regions,
    scale,
    terms,
    mistakeTolerance,
    mistakes,
    diagnosis,
  };
  return { report, exact, candidate, evaluation: e, context, ...(pieces !== undefined ? { pieces } : {}), named };
}

/** The variant's own options as given (for the report). */
function variantOptionValues(o: VariantOptions): Record<string, number | readonly number[]> {
  const out: Record<string, number | readonly number[]> = {};
  for (const k of ['weights', 'lambda', 'dssimDivisor', 'alpha', 'beta', 'gamma'] as const) if (o[k] !== undefined) out[k] = o[k]!;
  return out;
}

function scaleDiagnosis(scale: ScaleFit, tol: number, e: SsimEvaluation, candidateNorm: number, variant = 'ssim'): Diagnosis {
  if (candidateNorm === 0) return { kind: 'scale', message: 'the candidate is zero everywhere' };
  const count = Math.round(1 / e.weights.find((w) => w > 0)!);
  if (scale.residual <= tol) {
    return {
      kind: 'scale',
      message: `the candidate is ${scale.k.toPrecision(6)} x the exact gradient (residual ${e2(scale.residual)}): a normalisation or sign mistake; ` +
        (variant === 'ssim' || variant === 'wang'
          ? `the exact gradient carries 1/${count}, the 1/count of the mean over ${count} map pixels`
          : variant === 'ms-ssim'
            ? 'each scale carries the 1/count of its own mean and 1/(N C) of the mean over planes'
            : `the exact gradient carries d ${variant}/d ssim and SSIM's 1/${count}`),
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

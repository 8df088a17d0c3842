/**
 * The verdict and the report: whether the candidate is within rounding of the exact gradient,
 * how near it comes to each known mistake, and which diagnosis entries follow (wording.ts says
 * them). The same for the whole images and the subsample (pipeline.ts gives the figures).
 */
import type { Shape4 } from '../field/index.js';
import type { SsimConfig, VariantOptions } from '../runtime/index.js';
import { namedInOutputs } from '../variants/registry.js';
import type { VariantDeclaration } from '../variants/types.js';
import { regionErrors, scaleFit, scaleFitDetail, type RegionErrors, type ScaleFit, type TermFit } from './compare.js';
import { allowedRelative, FLOOR_ALLOWANCE, relativeScale, verdictOf, type RoundingFloor } from './floor.js';
import type { KnownMistake } from '../mistakes/context.js';
import type { CheckInput, CheckReport, Diagnosis, MistakeDistance, SubsampleReport } from './schema.js';
import { differenceNorms, maxAbsOf, norm2, ratio } from './stable.js';
import {
  inconclusiveDiagnosis, indistinguishableDiagnosis, namedDiagnosis, roundingDiagnosis, scaleDiagnosis, termsDiagnosis, tilesBlindDiagnosis, toleranceReason, unexplainedDiagnosis, whereDiagnosis, zeroTermsDiagnosis, type Unexplained,
} from './wording.js';

/**
 * How close a float32 candidate must come to a known mistake to be named by it: a float32
 * implementation of a wrong formula rounds differently from the exact gradient's float32
 * floor (the wrong formula has its own cancellations), so it is held to 1e-4 relative L2 rather
 * than to the floor. Known mistakes differ from each other by 1e-2 or more on the fixtures.
 */
export const FLOAT32_MISTAKE_TOLERANCE = 1e-4;

const isFloat32Valued = (a: ArrayLike<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]!) !== a[i]) return false;
  return true;
};

/** What the verdict and the whole-image comparison rest on. */
export interface WholeComparison {
  readonly floor: RoundingFloor;
  readonly exact: Float64Array;
  readonly err: { maxAbs: number; l2: number };
  readonly exactNorm: number;
  readonly maxAbsExact: number;
  /** The candidate holds float32 values (as given, or detected). */
  readonly float32: boolean;
  readonly candidateNorm: number;
  readonly regions: RegionErrors;
  readonly scale: ScaleFit;
}

/** The figures over the whole images: the errors, the norms, where the error lies, the best scale. */
export function compareWhole(candidate: Float64Array, exact: Float64Array, floor: RoundingFloor, shape: Shape4, band: number, float32?: boolean): WholeComparison {
  const maxAbsExact = maxAbsOf(exact);
  return {
    floor,
    exact,
    err: differenceNorms(candidate, exact),
    exactNorm: norm2(exact),
    maxAbsExact,
    float32: float32 ?? isFloat32Valued(candidate),
    candidateNorm: norm2(candidate),
    regions: regionErrors(candidate, exact, shape, band, floor.l2),
    scale: scaleFit(candidate, exact),
  };
}

/** A known mistake's distance from the candidate beside the mistake. */
interface BuiltMistake<M> {
  readonly m: M;
  readonly d: MistakeDistance;
}

/** The nearest first (as-is or scaled, whichever is nearer), in place; the ordering a report lists them in. */
export function nearestFirst<B extends { readonly d: MistakeDistance }>(built: B[]): B[] {
  const best = (d: MistakeDistance): number => Math.min(d.distance, d.scaled?.distance ?? Infinity);
  return built.sort((p, q) => best(p.d) - best(q.d) || p.d.distance - q.d.distance);
}

/**
 * The diagnosis lines of a mismatch's known mistakes (the gradient's and the forward checker's):
 * one per mistake the candidate equals (as-is or scaled), nearest first, or, when it equals none,
 * why not (`blank`: the candidate is within the allowance of zero; else the nearest one's distance).
 */
export function mistakeLines<M extends Pick<KnownMistake, 'kind' | 'title' | 'explanation' | 'correctFormula'>>(
  built: readonly BuiltMistake<M>[], blank: Unexplained | null,
): { named: M | null; lines: Diagnosis[] } {
  const lines: Diagnosis[] = [];
  let named: M | null = null;
  for (const { m, d } of built) {
    if (d.matched === false) continue;
    named ??= m;
    lines.push(namedDiagnosis(m, d));
  }
  if (named === null) {
    const c = built[0];
    lines.push(unexplainedDiagnosis(
      blank ?? (c === undefined ? { why: 'none' } : { why: 'far', count: built.length, nearest: c.d, distance: Math.min(c.d.distance, c.d.scaled?.distance ?? Infinity) }),
    ));
  }
  return { named, lines };
}

/** The report from the whole-image comparison and the mistakes (over the whole images or the subsample). */
export function judge(a: {
  input: CheckInput;
  /** The variant's declaration (the report names it unless its outputs are SSIM's own). */
  variant: VariantDeclaration;
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
  // within the allowance is a match only where the allowance is small beside the exact gradient (floor.ts)
  const verdict = verdictOf(err, allowance, w.exactNorm);

  // relative to the larger of the exact gradient and the mistake: where the exact gradient is ~0 (x = y)
  // a mistake that is not (the factor 2 of d(x^2)/dx dropped) must come within the allowance itself
  const ms = a.mistakeScale ?? { exactNorm: w.exactNorm, floorL2: floor.l2 };
  const tolOf = (mistakeNorm: number, s = ms): number =>
    Math.max((K * s.floorL2) / relativeScale(Math.max(s.exactNorm, mistakeNorm), s.floorL2), float32 ? FLOAT32_MISTAKE_TOLERANCE : 0);
  const tolValue = tolOf(0);
  const mistakeTolerance = {
    value: tolValue,
    reason: toleranceReason(float32 && FLOAT32_MISTAKE_TOLERANCE > K * floor.relL2, FLOAT32_MISTAKE_TOLERANCE, K, floor),
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
  nearestFirst(built);
  const mistakes = built.map((b) => b.d);

  const diagnosis: Diagnosis[] = [];
  let named: KnownMistake | null = null;
  // subsampled: the tiles hold no error beyond rounding, so what ran on them says nothing of the mismatch
  const tilesBlind = a.mistakeExact !== undefined && differenceNorms(candidate, a.mistakeExact).l2 <= K * ms.floorL2;
  if (verdict === 'match') diagnosis.push(roundingDiagnosis(err, floor, K));
  else if (verdict === 'inconclusive') diagnosis.push(inconclusiveDiagnosis(err, floor, K, allowedRelative(allowance.l2, w.exactNorm), 'gradient'));
  else if (tilesBlind) diagnosis.push(tilesBlindDiagnosis(a.subsample?.strips.length ?? 0));
  else {
    const r = mistakeLines(built, blank ? (w.candidateNorm === 0 ? { why: 'zero' } : { why: 'blank', norm: candidateNorm, allowed: K * ms.floorL2, subsampled: a.subsample !== undefined }) : null);
    named = r.named;
    diagnosis.push(...r.lines);
  }
  // a known mistake within the allowance of the exact gradient (over the mistakes' values): a match or an inconclusive verdict cannot exclude it
  if (verdict !== 'mismatch') {
    const ex = a.mistakeExact ?? w.exact;
    const near = a.mistakes.filter(({ gradient: g }) => differenceNorms(g, ex).l2 <= K * ms.floorL2).map(({ mistake: m }) => m.title);
    if (near.length > 0) diagnosis.push(indistinguishableDiagnosis(near));
  }
  if (verdict === 'mismatch') {
    // residuals relative to the candidate: where the exact gradient is ~0, the allowance over the candidate's norm
    const candidateTol = tolOf(w.candidateNorm, { exactNorm: w.exactNorm, floorL2: floor.l2 });
    diagnosis.push(scaleDiagnosis(w.scale, candidateTol, a.count, w.candidateNorm, variant.scaleNote));
    diagnosis.push(whereDiagnosis(w.regions, K * floor.relL2));
    // the terms fit, unless it ran on tiles that hold no error
    if (w.candidateNorm === 0) diagnosis.push(zeroTermsDiagnosis());
    else if (!tilesBlind) diagnosis.push(termsDiagnosis(terms, candidateTol));
  }

  const report: CheckReport = {
    verdict,
    wrt: input.wrt,
    shape: [...input.x.shape],
    ssim: a.ssim,
    ...(namedInOutputs(variant) ? { variant: { name: variant.name, value: a.value ?? a.ssim, options: variantOptionValues(input.options, variant) } } : {}),
    configuration: configurationOf(a.config),
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

/** The report's `configuration`: the resolved SSIM options it was checked under. */
export function configurationOf(cfg: SsimConfig): Record<string, string | number | boolean> {
  return {
    preset: cfg.preset, window: cfg.window, size: cfg.size, sigma: cfg.sigma, padding: cfg.padding, C1: cfg.C1, C2: cfg.C2,
    sampleCovariance: cfg.sampleCovariance, crop: cfg.crop, downsample: String(cfg.downsample), reduction: cfg.reduction,
  };
}

/** The variant's own number options as given (for the report; field options are tensors and stay out). */
export function variantOptionValues(o: VariantOptions, decl: VariantDeclaration): Record<string, number | readonly number[]> {
  const given: Readonly<Record<string, unknown>> = { ...o, ...((o as { variantOptions?: Readonly<Record<string, unknown>> }).variantOptions ?? {}) };
  const out: Record<string, number | readonly number[]> = {};
  for (const [k, option] of Object.entries(decl.options ?? {})) {
    if (option.kind !== 'field' && given[k] !== undefined) out[k] = given[k] as number | readonly number[];
  }
  return out;
}


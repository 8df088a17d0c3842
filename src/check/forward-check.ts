/**
 * The checker for forward mode and second order: is a hand-written JVP (the directional derivative
 * of SSIM or a variant) or HVP (its Hessian times a vector) right beyond rounding, and if not,
 * which known mistake is it. The steps are the gradient checker's: the exact answer in float64
 * (src/runtime/jvp.ts, forward mode over the field graph), the rounding floor measured as the same
 * computation in emulated float32 arithmetic against float64, the verdict at FLOOR_ALLOWANCE times
 * the floor, and the forward-mode mistakes (src/mistakes/forward.ts) compared by relative distance
 * with the gradient checker's tolerance. Images are checked whole.
 */
import { shape4, toField, type Tensor } from '../field/index.js';
import { evaluateSsim, evaluateVariant, resolveOptions, type SsimOptions, type VariantOptions } from '../runtime/index.js';
import { variantHvp, variantJvp } from '../runtime/jvp.js';
import { validateOptions } from '../model/options.js';
import { bySsimKernels, namedInOutputs } from '../variants/registry.js';
import type { MistakeContext } from '../mistakes/context.js';
import { mistakesFor } from '../mistakes/assemble.js';
import { hvpMistakes, jvpMistakes, type ForwardMistake } from '../mistakes/forward.js';
import { bandOf, regionErrors, scaleFit, scaleFitDetail } from './compare.js';
import { refuseForwardFloor } from './finite.js';
import { NonFiniteError } from '../model/finite.js';
import { allowedRelative, FLOOR_ALLOWANCE, floorOf, relativeScale, verdictOf, type RoundingFloor } from './floor.js';
import type { Diagnosis, ForwardCheckReport, MistakeDistance } from './schema.js';
import { differenceNorms, maxAbsOf, norm2, ratio } from './stable.js';
import { declarationOf, plainOptions, variantGradient32 } from './variant-model.js';
import { configurationOf, FLOAT32_MISTAKE_TOLERANCE, mistakeLines, nearestFirst, variantOptionValues } from './verdict.js';
import { inconclusiveDiagnosis, indistinguishableDiagnosis, roundingDiagnosis, scaleDiagnosis, toleranceReason, whereDiagnosis } from './wording.js';

/** What checkJvp takes. */
export interface JvpCheckInput {
  readonly x: Tensor;
  readonly y: Tensor;
  /** SSIM's options, with a variant's when it checks one. */
  readonly options: VariantOptions;
  readonly dx: Tensor;
  /** Null: y does not move. */
  readonly dy: Tensor | null;
  /** The candidate's d value in the direction (dx, dy). */
  readonly candidate: number;
  /** Whether the candidate is a float32 value; detected (float32-representable) when omitted. */
  readonly float32?: boolean;
}

/** What checkHvp takes. */
export interface HvpCheckInput {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: VariantOptions;
  /** The image the Hessian is taken over, and v moves. */
  readonly wrt: 'x' | 'y';
  readonly v: Tensor;
  /** The candidate H v, with X's size (C order). */
  readonly candidate: ArrayLike<number>;
  readonly float32?: boolean;
}

/** The report with the values it was made from. */
export interface ForwardCheckResult {
  readonly report: ForwardCheckReport;
  readonly exact: Float64Array;
  readonly candidate: Float64Array;
  /** The forward mistake named first, if any. */
  readonly named: ForwardMistake | null;
}

const isFloat32Valued = (a: ArrayLike<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]!) !== a[i]) return false;
  return true;
};

/** The gradient's mistake context for one image, as the gradient checker builds it (checkWhole). */
function contextOf(x: Tensor, y: Tensor, options: VariantOptions, wrt: 'x' | 'y', e: ReturnType<typeof evaluateSsim>): MistakeContext {
  const plain: SsimOptions = bySsimKernels(declarationOf(options)) ? options : plainOptions(options);
  return { x, y, options: plain, e, wrt, variantOptions: options };
}

/** SSIM's options for the SSIM evaluation beside the check (the value the report names). */
const ssimOptionsOf = (options: VariantOptions): SsimOptions => (bySsimKernels(declarationOf(options)) ? options : plainOptions(options));

/**
 * Checks a candidate JVP: the exact directional derivative (forward mode, float64), the floor (the
 * same in float32 arithmetic against it, and never less than the spread of its per-pixel shares'
 * rounding), the verdict and the forward-mode mistakes.
 */
export function checkJvp(input: JvpCheckInput): ForwardCheckResult {
  validateOptions(input.options);
  const { x, y, options } = input;
  const exact = variantJvp(x, y, input.dx, input.dy, options);
  const dx = toField(input.dx, 'dx').data;
  const dy = input.dy === null ? null : toField(input.dy, 'dy').data;
  const ev = evaluateVariant(x, y, options);
  const floor = jvpFloor(x, y, options, input.dx, input.dy, exact.jvp, ev);
  const e = evaluateSsim(x, y, ssimOptionsOf(options));
  const library = mistakesFor(x, y, options);
  const mistakes = jvpMistakes(
    { ctx: { x: contextOf(x, y, options, 'x', e), y: contextOf(x, y, options, 'y', e) }, exact: { x: ev.gradX, y: ev.gradY }, dx, dy, library },
    exact.jvp,
  );
  const cand = Float64Array.of(input.candidate);
  const r = judgeForward({
    mode: 'jvp', input, exact: Float64Array.of(exact.jvp), candidate: cand, floor, float32: input.float32 ?? isFloat32Valued(cand),
    mistakes: mistakes.map((m) => ({ mistake: m.mistake, value: Float64Array.of(m.value) })), ssim: e.ssim, value: exact.value, count: countOf(e),
  });
  return { ...r, exact: Float64Array.of(exact.jvp), candidate: cand };
}

/**
 * The rounding floor of a JVP: the exact JVP in float32 arithmetic against float64 (`exact`), and
 * never less than the spread of its per-pixel shares' rounding, sqrt(sum ((g32 - g) . d)^2) over
 * both images (g32 the gradient in float32 arithmetic, g the exact one): one scalar's float32
 * difference can be small by chance, and a correct float32 JVP computed another way (a float32
 * gradient's inner product with the direction) lands at about that spread.
 */
export function jvpFloor(
  x: Tensor, y: Tensor, options: VariantOptions, dxT: Tensor, dyT: Tensor | null, exact: number, ev: { gradX: Float64Array; gradY: Float64Array } = evaluateVariant(x, y, options),
): RoundingFloor {
  const input = { x, y, options };
  const j32 = float32Measurement(input, 'JVP', () => variantJvp(x, y, dxT, dyT, { ...options, arith: 'float32' }).jvp);
  const dx = toField(dxT, 'dx').data;
  const dy = dyT === null ? null : toField(dyT, 'dy').data;
  const gx32 = float32Measurement(input, 'JVP', () => variantGradient32(x, y, options, 'x'));
  const gy32 = dy === null ? null : float32Measurement(input, 'JVP', () => variantGradient32(x, y, options, 'y'));
  let spread = 0;
  for (let i = 0; i < dx.length; i++) {
    spread += ((gx32[i]! - ev.gradX[i]!) * dx[i]!) ** 2;
    if (dy !== null) spread += ((gy32![i]! - ev.gradY[i]!) * dy[i]!) ** 2;
  }
  spread = Math.sqrt(spread);
  const measured = floorOf(Float64Array.of(j32), Float64Array.of(exact));
  const l2 = Math.max(measured.l2, spread);
  if (!Number.isFinite(l2) || !Number.isFinite(measured.maxAbs)) refuseForwardFloor(input, 'JVP', Number.isFinite(l2) ? measured.maxAbs : l2);
  return { maxAbs: Math.max(measured.maxAbs, spread), l2, relL2: ratio(l2, relativeScale(Math.abs(exact), l2)) };
}

/** Checks a candidate HVP (H v over the image `wrt`, v moving that image): as checkJvp, over X's values. */
export function checkHvp(input: HvpCheckInput): ForwardCheckResult {
  validateOptions(input.options);
  const { x, y, options, wrt } = input;
  const n = x.data.length;
  if (input.candidate.length !== n) throw new Error(`checkHvp: candidate has ${input.candidate.length} values, expected ${n}`);
  const pick = (r: ReturnType<typeof variantHvp>): Float64Array => (wrt === 'x' ? r.hvpX! : r.hvpY!);
  const h = variantHvp(x, y, input.v, { ...options, wrt });
  const exact = pick(h);
  const floor = floorOf(float32Measurement(input, 'HVP', () => pick(variantHvp(x, y, input.v, { ...options, wrt, arith: 'float32' }))), exact);
  if (!Number.isFinite(floor.l2) || !Number.isFinite(floor.maxAbs)) refuseForwardFloor(input, 'HVP', Number.isFinite(floor.l2) ? floor.maxAbs : floor.l2);
  const e = evaluateSsim(x, y, ssimOptionsOf(options));
  const library = mistakesFor(x, y, options);
  const v = toField(input.v, 'v').data;
  const built = hvpMistakes({ ctx: contextOf(x, y, options, wrt, e), v, library });
  // those equal to the exact HVP or to an earlier one (to 1e-12 relative) tell nothing
  const same = (a: Float64Array, b: Float64Array): boolean => differenceNorms(a, b).l2 <= 1e-12 * Math.max(norm2(a), norm2(b));
  const mistakes: Array<{ mistake: ForwardMistake; value: Float64Array }> = [];
  for (const b of built) {
    if (b.value === null || !b.value.every(Number.isFinite) || same(b.value, exact) || mistakes.some((m) => same(m.value, b.value!))) continue;
    mistakes.push({ mistake: b.mistake, value: b.value });
  }
  const cand = input.candidate instanceof Float64Array ? input.candidate : Float64Array.from(input.candidate);
  const shape = shape4(x, 'x');
  const r = judgeForward({
    mode: 'hvp', input, exact, candidate: cand, floor, float32: input.float32 ?? isFloat32Valued(cand), mistakes, ssim: e.ssim, value: h.value, count: countOf(e),
    regions: { shape, band: bandOf(resolveOptions(ssimOptionsOf(options)), shape) },
  });
  return { ...r, exact, candidate: cand };
}

/**
 * A float32 measurement for the floor: where float32 arithmetic is not finite (the exact answer in
 * float64 was), refused as the floor that float32 cannot measure (refuseForwardFloor), not as the
 * variant's loss being not a number.
 */
function float32Measurement<T>(input: { x: Tensor; y: Tensor; options: VariantOptions }, mode: 'JVP' | 'HVP', f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NonFiniteError) refuseForwardFloor(input, mode);
    throw e;
  }
}

/** The count of the mean (1/omega), for the scale diagnosis. */
const countOf = (e: ReturnType<typeof evaluateSsim>): number => Math.round(1 / e.weights.find((w) => w > 0)!);

/** The verdict and the report from the figures: the gradient checker's rules (verdict.ts's judge) over a scalar or X's values. */
function judgeForward(a: {
  mode: 'jvp' | 'hvp';
  input: JvpCheckInput | HvpCheckInput;
  exact: Float64Array;
  candidate: Float64Array;
  floor: RoundingFloor;
  float32: boolean;
  mistakes: ReadonlyArray<{ mistake: ForwardMistake; value: Float64Array }>;
  ssim: number;
  value: number;
  count: number;
  regions?: { shape: readonly [number, number, number, number]; band: number };
}): { report: ForwardCheckReport; named: ForwardMistake | null } {
  const { exact, candidate, floor, float32 } = a;
  const scalar = a.mode === 'jvp';
  const K = FLOOR_ALLOWANCE;
  const err = differenceNorms(candidate, exact);
  const allowance = { factor: K, maxAbs: K * floor.maxAbs, l2: K * floor.l2 };
  const exactNorm = norm2(exact);
  // the gradient checker's rule (floor.ts): within the allowance is a match only where the allowance is small beside the exact answer
  const verdict = verdictOf(err, allowance, exactNorm);
  const candidateNorm = norm2(candidate);
  const tolOf = (mistakeNorm: number): number =>
    Math.max((K * floor.l2) / relativeScale(Math.max(exactNorm, mistakeNorm), floor.l2), float32 ? FLOAT32_MISTAKE_TOLERANCE : 0);
  const blank = !(candidateNorm > K * floor.l2);
  const built: Array<{ m: ForwardMistake; d: MistakeDistance }> = [];
  for (const { mistake: m, value: g } of a.mistakes) {
    const gn = norm2(g);
    const distance = ratio(differenceNorms(candidate, g).l2, relativeScale(gn, floor.l2));
    let scaled: MistakeDistance['scaled'] = null;
    let kn = 0;
    // one number is a scale of any other: a JVP's mistakes are compared as they are
    if (!m.scaleOnly && !scalar) {
      const s = scaleFitDetail(candidate, g);
      kn = s.fittedNorm;
      scaled = kn > K * floor.l2 ? { k: s.k, distance: ratio(s.residual * candidateNorm, relativeScale(kn, floor.l2)) } : null;
    }
    const tolerance = tolOf(gn);
    const matched = blank ? false
      : distance <= tolerance ? 'as-is'
      : scaled !== null && scaled.distance <= tolOf(kn) ? 'scaled' : false;
    built.push({ m, d: { kind: m.kind, title: m.title, distance, scaled, tolerance, matched } });
  }
  nearestFirst(built);

  const what = scalar ? 'JVP' : 'HVP';
  const diagnosis: Diagnosis[] = [];
  let named: ForwardMistake | null = null;
  if (verdict === 'match') diagnosis.push(roundingDiagnosis(err, floor, K));
  else if (verdict === 'inconclusive') diagnosis.push(inconclusiveDiagnosis(err, floor, K, allowedRelative(allowance.l2, exactNorm), what));
  else {
    const r = mistakeLines(built, blank ? (candidateNorm === 0 ? { why: 'zero' } : { why: 'blank', norm: candidateNorm, allowed: K * floor.l2, subsampled: false }) : null);
    named = r.named;
    diagnosis.push(...r.lines);
    if (scalar) {
      const k = exact[0]! !== 0 ? candidate[0]! / exact[0]! : NaN;
      diagnosis.push({ kind: 'scale', message: Number.isFinite(k) ? `the candidate is ${k.toPrecision(6)} x the exact ${what} (one number: any scale fits it)` : `the exact ${what} is 0` });
    } else {
      const decl = declarationOf(a.input.options);
      const s = scaleFit(candidate, exact);
      const d = scaleDiagnosis(s, tolOf(candidateNorm), a.count, candidateNorm, decl.scaleNote);
      diagnosis.push({ ...d, message: d.message.replace('x the exact gradient', `x the exact ${what}`) });
    }
  }
  // a known mistake within the allowance of the exact answer: a match or an inconclusive verdict cannot exclude it
  if (verdict !== 'mismatch') {
    const near = a.mistakes.filter(({ value: g }) => differenceNorms(g, exact).l2 <= K * floor.l2).map(({ mistake: m }) => m.title);
    if (near.length > 0) diagnosis.push(indistinguishableDiagnosis(near));
  }
  const regions = a.regions === undefined ? undefined : regionErrors(candidate, exact, a.regions.shape, a.regions.band, floor.l2);
  if (verdict === 'mismatch' && regions !== undefined) diagnosis.push(whereDiagnosis(regions, K * floor.relL2));

  const variant = declarationOf(a.input.options);
  const report: ForwardCheckReport = {
    mode: a.mode,
    verdict,
    ...('wrt' in a.input ? { wrt: a.input.wrt } : {}),
    shape: [...a.input.x.shape],
    ssim: a.ssim,
    ...(namedInOutputs(variant) ? { variant: { name: variant.name, value: a.value, options: variantOptionValues(a.input.options, variant) } } : {}),
    configuration: configurationOf(resolveOptions(ssimOptionsOf(a.input.options))),
    ...(scalar ? { jvp: { candidate: candidate[0]!, exact: exact[0]!, dy: (a.input as JvpCheckInput).dy !== null } } : {}),
    maxAbsError: err.maxAbs,
    l2Error: err.l2,
    relError: ratio(err.l2, relativeScale(exactNorm, floor.l2)),
    maxAbsExact: maxAbsOf(exact),
    roundingFloor: floor,
    allowance,
    errorOverFloor: { maxAbs: ratio(err.maxAbs, floor.maxAbs), l2: ratio(err.l2, floor.l2) },
    candidateIsFloat32: float32,
    ...(regions !== undefined ? { regions } : {}),
    scale: scaleFit(candidate, exact),
    mistakeTolerance: { value: tolOf(0), reason: toleranceReason(float32 && FLOAT32_MISTAKE_TOLERANCE > K * floor.relL2, FLOAT32_MISTAKE_TOLERANCE, K, floor) },
    mistakes: built.map((b) => b.d),
    diagnosis,
  };
  return { report, named };
}

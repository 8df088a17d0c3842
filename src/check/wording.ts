/**
 * The checker's words: the sentences of a diagnosis and of the mistake tolerance's reason. The
 * checker (verdict.ts) decides which entry a report gets from the numbers; this file says it.
 * The report's layout around them is report.ts.
 */
import type { RegionErrors, ScaleFit, TermFit } from './compare.js';
import type { RoundingFloor } from './floor.js';
import type { KnownMistake } from '../mistakes/context.js';
import type { Diagnosis, MistakeDistance } from './schema.js';

/** A number as the checker writes it: three significant digits, exponent form ('NaN', 'Infinity' as they are). */
export const e2 = (v: number): string => (Number.isFinite(v) ? v.toExponential(2) : String(v));

/** The diagnosis kinds the checker's own comparisons give (the rest are known mistakes' kinds); report.ts prefixes them. */
export const CHECKER_KINDS: readonly string[] = ['rounding', 'scale', 'where', 'terms', 'unexplained'];

/** Why a known mistake is named within `value`: the float32 tolerance or `factor` x the floor's relative L2. */
export function toleranceReason(float32Tolerance: boolean, tolerance: number, factor: number, floor: RoundingFloor): string {
  return float32Tolerance
    ? `the candidate holds float32 values: ${tolerance} relative L2 (a float32 implementation of a wrong formula rounds on its own)`
    : `${factor} x the floor's relative L2 (${e2(floor.relL2)})`;
}

/** A match: the errors over the floor, and what a match allows. */
export function roundingDiagnosis(err: { maxAbs: number; l2: number }, floor: RoundingFloor, factor: number): Diagnosis {
  return {
    kind: 'rounding',
    message: `within rounding: max abs error ${e2(err.maxAbs)} is ${(err.maxAbs / floor.maxAbs).toPrecision(2)} x the floor, L2 error ${(err.l2 / floor.l2).toPrecision(2)} x (a match allows ${factor} x)`,
  };
}

/** Subsampled, and the tiles hold no error beyond rounding: what ran on them cannot say what the mismatch is. */
export function tilesBlindDiagnosis(tiles: number): Diagnosis {
  return {
    kind: 'unexplained',
    message: `the candidate equals the exact gradient on the ${tiles} sampled tiles, so the known mistakes and the terms fit (which run on them) cannot say what its error is; see where it lies`,
  };
}

/** A known mistake the candidate matches, as it is or after a scale. */
export function namedDiagnosis(m: Pick<KnownMistake, 'kind' | 'title' | 'explanation' | 'correctFormula'>, d: MistakeDistance): Diagnosis {
  const how = d.matched === 'as-is'
    ? `the candidate equals this mistake to ${e2(d.distance)} relative L2`
    : `the candidate equals ${d.scaled!.k.toPrecision(6)} x this mistake to ${e2(d.scaled!.distance)} relative L2 (a wrong normaliser on top of it)`;
  return { kind: m.kind, message: `${m.title}: ${how}`, explanation: m.explanation, correctFormula: m.correctFormula };
}

/** Why no known mistake is named. */
export type Unexplained =
  /** The candidate is zero everywhere. */
  | { readonly why: 'zero' }
  /** Its L2 norm (over the mistakes' values) is within the allowance of zero. */
  | { readonly why: 'blank'; readonly norm: number; readonly allowed: number; readonly subsampled: boolean }
  /** No known mistake applies. */
  | { readonly why: 'none' }
  /** None of `count` is near enough; `nearest` is the closest, `distance` its best distance. */
  | { readonly why: 'far'; readonly count: number; readonly nearest: MistakeDistance; readonly distance: number };

export function unexplainedDiagnosis(u: Unexplained): Diagnosis {
  const message = u.why === 'zero'
    ? 'the candidate is zero everywhere: it carries nothing to name a known mistake by'
    : u.why === 'blank'
    ? `the candidate is within the allowance of zero${u.subsampled ? ' on the sampled tiles' : ''} (L2 norm ${e2(u.norm)}, allowed ${e2(u.allowed)}): it carries nothing to name a known mistake by`
    : u.why === 'none'
    ? 'not one of the known mistakes'
    : `not one of the ${u.count} known mistakes that apply here; the nearest is "${u.nearest.title}" at ${e2(u.distance)} relative L2 (a name needs ${e2(u.nearest.tolerance)})`;
  return { kind: 'unexplained', message };
}

/**
 * The best single scale: a normalisation or sign mistake when it explains the candidate within
 * `tol` (with the variant's `scaleNote` on how the exact gradient relates to SSIM's), else how much it leaves.
 */
export function scaleDiagnosis(scale: ScaleFit, tol: number, count: number, candidateNorm: number, scaleNote: string | undefined): Diagnosis {
  if (candidateNorm === 0) return { kind: 'scale', message: 'the candidate is zero everywhere' };
  if (scale.residual <= tol) {
    return {
      kind: 'scale',
      message: `the candidate is ${scale.k.toPrecision(6)} x the exact gradient (residual ${e2(scale.residual)}): a normalisation or sign mistake; ` +
        `${scaleNote ?? 'the exact gradient carries d value/d ssim'} (the mean over ${count} map pixels carries 1/${count})`,
    };
  }
  return {
    kind: 'scale',
    message: `no single scale explains it: the best, ${scale.k.toPrecision(4)} x exact, leaves ${(100 * scale.residual).toPrecision(3)} % of the candidate unexplained`,
  };
}

/** Where the error lies: the border band, the interior or everywhere, and which channels. */
export function whereDiagnosis(r: RegionErrors, allowedRel: number): Diagnosis {
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

/** The terms fit of a zero candidate: nothing to fit. */
export function zeroTermsDiagnosis(): Diagnosis {
  return { kind: 'terms', message: 'the candidate is zero everywhere: no combination of the terms to fit' };
}

/** The best combination of the three chain-rule terms, and which of them are scaled. */
export function termsDiagnosis(t: TermFit, tol: number): Diagnosis {
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

/**
 * Inconclusive (floor.ts, INCONCLUSIVE_RELATIVE): the candidate is within the allowance, but float32
 * rounding of the exact answer is `allowedRel` of it on these inputs (allowance over its norm).
 */
export function inconclusiveDiagnosis(err: { maxAbs: number; l2: number }, floor: RoundingFloor, factor: number, allowedRel: number, what: string): Diagnosis {
  const pct = allowedRel >= 1e6 ? 'many times' : `${allowedRel >= 0.1 ? Math.round(100 * allowedRel) : (100 * allowedRel).toPrecision(2)} %`;
  return {
    kind: 'rounding',
    message: `inconclusive: the candidate is within the allowance (${(Math.max(err.maxAbs / floor.maxAbs, err.l2 / floor.l2)).toPrecision(2)} x the floor; ${factor} x allowed), ` +
      `but float32 rounding of the exact ${what} is as large as ${pct} of it on these inputs, so a float32 candidate cannot be judged beyond that ` +
      '(the floor is float32\'s, so a float64 candidate is held to it too); for a verdict give inputs with more contrast (a realistic image pair, a data range near their spread)',
  };
}

/** Known mistakes whose values are within the allowance of the exact answer: the check cannot tell the candidate from them. */
export function indistinguishableDiagnosis(titles: readonly string[]): Diagnosis {
  const one = titles.length === 1;
  return {
    kind: 'rounding',
    message: `${one ? 'a known mistake is' : `${titles.length} known mistakes are`} within the allowance of the exact answer on these inputs, ` +
      `so this check cannot tell the candidate from ${one ? 'it' : 'them'}: ${titles.map((t) => `"${t}"`).join('; ')}`,
  };
}

/**
 * The rounding floor: how far a correct float32 implementation lands from the exact gradient on
 * these inputs, measured rather than guessed. It is the exact gradient computed in emulated
 * float32 arithmetic (Math.fround after every operation: src/runtime's ssimGradFloat32Arith, the
 * generated kernel with inputs, taps and constants rounded too) against float64.
 */
import type { Tensor } from '../field/index.js';
import { ssimGradXFloat32Arith, type SsimOptions } from '../runtime/index.js';

/**
 * How many times the floor a candidate may differ from the exact gradient and still match.
 * PyTorch's float32 autograd on its fixture (test/fixtures/peers/pytorch-ssim-float32-autograd,
 * 2 x 3 x 16 x 20, pytorch-ssim) differs from float64 by 6.7e-9 max abs and 5.5e-8 in L2: 2.4 and
 * 2.8 times the floor measured there (2.7e-9, 2.0e-8). Other correct float32 orderings (2-D
 * instead of separable sums, FMA, tree reductions) move by similar small factors, so 32 leaves
 * them a tenfold margin; the nearest known mistake on the test configurations (the
 * sample-covariance factor dropped, under skimage) is 3.8e4 floors away (test/check/floor.test.ts
 * prints both).
 */
export const FLOOR_ALLOWANCE = 32;

/** The floor on the inputs: max abs and L2 of (float32 arithmetic - float64). */
export interface RoundingFloor {
  readonly maxAbs: number;
  readonly l2: number;
  /** l2 / relativeScale(||exact||, l2): l2 / ||exact|| unless the exact gradient is within the allowance of zero. */
  readonly relL2: number;
}

// the norms the checker reports with: overflow- and underflow-safe (src/check/stable.ts); re-exported for the checker's users
import { differenceNorms, norm2 } from '../field/index.js';
import { maxAbsOf, ratio } from './stable.js';
export { differenceNorms, norm2 };

/**
 * The floor where a measured one is exactly zero: float32 and float64 both give exactly zero
 * everywhere (black images: every term vanishes). 2^-149 is float32's smallest positive number, so
 * a float32 gradient within 32 x it of zero is zero; the floor stays positive, and figures over it
 * finite, without a term that grows as the data range shrinks.
 */
export const FLOAT32_TRUE_MIN = 2 ** -149;

/**
 * What the checker's relative L2 figures divide by: the reference's norm (the exact gradient's, or a
 * known mistake's), but never less than the allowance, FLOOR_ALLOWANCE x the floor's L2. A gradient
 * within the allowance of zero (x = y, where SSIM is at its maximum; constant images) cannot be told
 * from zero by float32 arithmetic and has no scale of its own; dividing by its norm gave ratios of
 * 1e9 and more, or infinity where it is exactly zero. Above the allowance the figure is the usual
 * ||. || / ||reference||.
 */
export function relativeScale(referenceNorm: number, floorL2: number): number {
  return Math.max(referenceNorm, FLOOR_ALLOWANCE * floorL2);
}

/**
 * Measures the floor of d ssim/d`wrt` on x, y (floorOf of the float32-arithmetic gradient).
 * `unit` is accepted for compatibility and not used: the floor is a measurement (floorOf).
 */
export function roundingFloor(x: Tensor, y: Tensor, options: SsimOptions, wrt: 'x' | 'y', exact: Float64Array, unit = 0): RoundingFloor {
  // one gradient only: S is symmetric, so d/dy S(x, y) is d/dx S(y, x)
  const g = wrt === 'x' ? ssimGradXFloat32Arith(x, y, options) : ssimGradXFloat32Arith(y, x, options);
  return floorOf(g.gradX, exact, unit);
}

/**
 * The floor from a float32-arithmetic gradient `g` against the exact one: max abs and L2 of their
 * difference, and never less than double rounding of the exact gradient (eps |exact|), so that the
 * verdict never demands more than float64 can give. Nothing else is added: a term of the loss's
 * scale (1/(N L)) would grow without bound as the data range L shrinks and let any candidate,
 * zero included, match. Where both gradients are exactly zero the floor is FLOAT32_TRUE_MIN (per
 * value; sqrt(count) of it in L2), so error / floor stays finite. `_unit` is not used (it once set
 * that minimum) and is kept for callers that pass it.
 */
export function floorOf(g: ArrayLike<number>, exact: Float64Array, _unit = 0): RoundingFloor {
  const d = differenceNorms(g, exact);
  const exactNorm = norm2(exact);
  const maxExact = maxAbsOf(exact);
  const eps = Number.EPSILON;
  // only an exact 0 is raised: a NaN (float32 overflowed) stays NaN for the caller to refuse
  const atLeast = (measured: number, min: number): number => (measured === 0 ? min : measured);
  const maxAbs = atLeast(Math.max(d.maxAbs, eps * maxExact), FLOAT32_TRUE_MIN);
  const l2 = atLeast(Math.max(d.l2, eps * exactNorm), FLOAT32_TRUE_MIN * Math.sqrt(Math.max(1, exact.length)));
  return { maxAbs, l2, relL2: ratio(l2, relativeScale(exactNorm, l2)) };
}

/**
 * The largest allowed relative error at which a candidate within the allowance is still a match:
 * the allowance's L2 (FLOOR_ALLOWANCE x the floor's) over the exact answer's L2 norm (|exact| for
 * a JVP). On realistic inputs it is about 1e-5 (the README's examples: 1.2e-4 and 7.1e-6). Above
 * 0.1 the allowance admits errors of a tenth of the answer and more: the mistakes that change it
 * by a factor or a term (a sign, a factor 2, a dropped term, which move it by 50 % to 200 %) and
 * at 1 or more the zero candidate and the answer's negative would all match, so a MATCH would not
 * say the candidate is right. Such a candidate is 'inconclusive' (never a match): float32 rounding
 * of the exact answer itself is that large on these inputs (near-flat images, tiny amplitudes),
 * and the allowance is the same for every candidate (a float64 one too: the floor is float32's).
 * A candidate outside the allowance stays a mismatch: that statement holds whatever the floor.
 * One exception: an exact answer that is itself float64 rounding of zero (x = y, where SSIM is at
 * its maximum; black images): its norm within the allowance times 2^-29 (float64's epsilon over
 * float32's, the float64 counterpart of the floor). It has no sign nor scale to get wrong, and a
 * candidate within the allowance of it is zero to float32 precision: a match.
 */
export const INCONCLUSIVE_RELATIVE = 0.1;

/** float64's epsilon over float32's: the float64 counterpart of a float32 floor. */
const FLOAT64_OVER_FLOAT32 = 2 ** -29;

/** The allowance's L2 over the exact answer's norm (float64's largest where the norm is 0: nothing can be judged). */
export function allowedRelative(allowanceL2: number, exactNorm: number): number {
  return exactNorm > 0 ? ratio(allowanceL2, exactNorm) : Number.MAX_VALUE;
}

/** The verdict from the errors and the allowance: within it and judgeable (INCONCLUSIVE_RELATIVE) is a match. */
export function verdictOf(
  err: { readonly maxAbs: number; readonly l2: number }, allowance: { readonly maxAbs: number; readonly l2: number }, exactNorm: number,
): 'match' | 'mismatch' | 'inconclusive' {
  // a match needs finite errors within finite allowances: NaN compares false, and Infinity <= Infinity must not pass
  const within = (e: number, allowed: number): boolean => Number.isFinite(e) && Number.isFinite(allowed) && e <= allowed;
  if (!(within(err.maxAbs, allowance.maxAbs) && within(err.l2, allowance.l2))) return 'mismatch';
  if (exactNorm <= FLOAT64_OVER_FLOAT32 * allowance.l2) return 'match';
  return allowedRelative(allowance.l2, exactNorm) > INCONCLUSIVE_RELATIVE ? 'inconclusive' : 'match';
}

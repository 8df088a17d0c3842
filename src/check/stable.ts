/**
 * The checker's figures computed so that finite inputs give finite figures: norms that neither
 * overflow nor underflow (Blue's three-accumulator sum of squares), least-squares scales computed on
 * power-of-two-scaled data, and quotients clamped to float64's range. A candidate holding one pixel
 * of 1e300 is a wrong gradient, and its report must say so with numbers, not with NaN or Infinity.
 */

// the sums of squares live with the other array numerics (src/field/tensor.ts)
import { clampFinite, differenceNorms, norm2, SumOfSquares } from '../field/tensor.js';
export { clampFinite, differenceNorms, norm2, SumOfSquares };

/**
 * a / b for finite a and b >= 0, clamped to +-Number.MAX_VALUE where the quotient overflows (an
 * error of 1e300 over a floor of 1e-10: "at least 1.8e308 times"); 0 / 0 is 0 (nothing over nothing).
 */
export function ratio(a: number, b: number): number {
  if (a === 0) return 0;
  return clampFinite(a / b);
}

const BIG = 2 ** 400;
const SMALL = 2 ** -400;

/** max |a_i|. */
export function maxAbsOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * A power of two that brings a magnitude `m` near 1 when it is outside [2^-400, 2^400], else 1:
 * arrays multiplied by it keep every product and sum of squares within float64's range.
 */
export function scaleFor(m: number): number {
  if (!(m > 0) || (m <= BIG && m >= SMALL) || !Number.isFinite(m)) return 1;
  const e = Math.floor(Math.log2(m));
  // 2^-e for e up to 1023 and down to -1074: split in two factors where one would leave the range
  return e > 0 ? 2 ** -e : 2 ** Math.min(-e, 1000);
}

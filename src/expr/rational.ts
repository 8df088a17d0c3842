/**
 * Exact rational numbers over bigint, used for the constants of the expression graph.
 * Only what the smart constructors need: normalise, add, multiply, integer powers.
 */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint; // always > 0, gcd(num, den) = 1
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Builds num/den in lowest terms with a positive denominator. */
export function rational(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new RangeError('rational: zero denominator');
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

const LIMIT = 2n ** 53n;

/** True when num and den are exact doubles, so that num/den rounds once to the nearest double. */
export const fitsQ = (a: Rational): boolean => (a.num < 0n ? -a.num : a.num) <= LIMIT && a.den <= LIMIT;

/**
 * The rational a number literal denotes: the shortest decimal that prints the double
 * (so 0.01 is 1/100, 0.5 is 1/2). Undefined when that decimal needs more than 2^53 in
 * numerator or denominator; such constants stay floats.
 */
export function rationalFromNumber(x: number): Rational | undefined {
  if (!Number.isFinite(x)) return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(x));
  if (m === null) return undefined;
  const [, sign, int, frac = '', exp = '0'] = m;
  const num = BigInt(int + frac) * (sign === '-' ? -1n : 1n);
  const e = Number(exp) - frac.length;
  if (Math.abs(e) > 30) return undefined;
  const r = e >= 0 ? rational(num * 10n ** BigInt(e)) : rational(num, 10n ** BigInt(-e));
  return fitsQ(r) ? r : undefined;
}

export const addQ = (a: Rational, b: Rational): Rational => rational(a.num * b.den + b.num * a.den, a.den * b.den);
export const mulQ = (a: Rational, b: Rational): Rational => rational(a.num * b.num, a.den * b.den);
export const isZeroQ = (a: Rational): boolean => a.num === 0n;
export const isOneQ = (a: Rational): boolean => a.num === 1n && a.den === 1n;
export const isIntegerQ = (a: Rational): boolean => a.den === 1n;
/** The double nearest to a (exact when fitsQ(a), since both parts are exact doubles). */
export const toNumberQ = (a: Rational): number => Number(a.num) / Number(a.den);
export const keyQ = (a: Rational): string => (a.den === 1n ? `${a.num}` : `${a.num}/${a.den}`);

/** a^n for an integer n (negative allowed when a != 0); undefined when the result would be huge. */
export function powQ(a: Rational, n: bigint): Rational | undefined {
  if (n < 0n) {
    if (a.num === 0n) return undefined;
    return powQ(rational(a.den, a.num), -n);
  }
  if (n > 64n) return undefined;
  return rational(a.num ** n, a.den ** n);
}

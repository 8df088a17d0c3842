/**
 * Why SSIM is not finite when its inputs are, in one place for the library and the CLI: the
 * magnitudes that overflow SSIM's products, constants that vanish (0/0 on a flat window), and
 * the error the library's entry points throw for a result that is not a number.
 */
import { InputError, type Precision, type Tensor } from '../field/index.js';

/** float32's largest finite value. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The largest magnitude SSIM's arithmetic takes: its products of four such values (A1 A2 ~ 4
 * |v|^4, B1 B2 likewise) stay below the arithmetic's largest number.
 */
export const overflowLimit = (arithmetic: Precision): number => ((arithmetic === 'float64' ? Number.MAX_VALUE : FLOAT32_MAX) / 16) ** 0.25;

/** A number as a user would write it: 1e+20 rather than 100000000000000000000. */
const short = (v: number): string => (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-4) ? v.toExponential() : String(v));

/**
 * Why a result is not finite when the inputs are: the largest magnitude the arithmetic meets (a
 * value of X or Y, the data range, or, given `constants`, k1 L and k2 L, whose squares are C1, C2)
 * is so large that SSIM's products of four such values (A1 A2 ~ 4 |v|^4, B1 B2 likewise) overflow.
 * Returns a message naming the magnitude and where it comes from, or undefined when the
 * magnitudes are not the cause.
 */
export function overflowMessage(
  images: ReadonlyArray<readonly [Tensor, string]>,
  dataRange: number | undefined,
  arithmetic: Precision,
  constants?: { readonly k1: number; readonly k2: number },
): string | undefined {
  const L = dataRange !== undefined && Number.isFinite(dataRange) ? Math.abs(dataRange) : 0;
  let m = L;
  let where = 'the data range L (--data-range)';
  for (const [t, path] of images) {
    for (let i = 0; i < t.data.length; i++) {
      const v = Math.abs(t.data[i]!);
      if (v > m) {
        m = v;
        where = `${path} (value at flat index ${i})`;
      }
    }
  }
  for (const k of ['k1', 'k2'] as const) {
    const kl = Math.abs(constants?.[k] ?? 0) * L;
    if (kl > m) {
      m = kl;
      where = `${k} L (--${k} ${short(constants![k])} times the data range ${short(L)}; C${k[1]} = (${k} L)^2)`;
    }
  }
  const limit = overflowLimit(arithmetic);
  if (m <= limit) return undefined;
  return (
    `${where} reaches ${m.toExponential(2)} in magnitude, and SSIM's products of four such values (A1 A2 ~ 4 |v|^4) ` +
    `overflow ${arithmetic}${arithmetic === 'float32' ? ' (the rounding floor is measured in float32 arithmetic)' : ''} beyond about ${limit.toExponential(1)}; ` +
    'scale X, Y and --data-range down by one factor (SSIM does not change)'
  );
}

/** What the resolved constants say about a result that is not finite. */
export interface FiniteContext {
  readonly C1: number;
  readonly C2: number;
  readonly k1: number;
  readonly k2: number;
  readonly dataRange: number;
}

/**
 * The cause of a result that is not a number under finite inputs, in words: a constant that is 0
 * (a flat window gives 0/0), or a magnitude that overflows; else a general hint.
 */
export function nonFiniteCause(c: FiniteContext, images: ReadonlyArray<readonly [Tensor, string]>, fallback = 'check the options against the data'): string {
  return constantsCause(c) ?? overflowMessage(images, c.dataRange, 'float64', c) ?? fallback;
}

/** A constant that is 0 or whose square underflows to 0 (a flat window then gives 0/0), in words; else undefined. */
export function constantsCause(c: { readonly k1: number; readonly k2: number; readonly dataRange: number | undefined }): string | undefined {
  if (c.k1 === 0 || c.k2 === 0) return 'with --k1 0 or --k2 0 a flat window gives 0/0; use k1, k2 > 0';
  const L = c.dataRange ?? 0;
  if ((c.k1 * L) ** 2 === 0 || (c.k2 * L) ** 2 === 0) {
    return `C1 = (k1 L)^2 or C2 = (k2 L)^2 underflows to 0 (k1 = ${c.k1}, k2 = ${c.k2}, L = ${L}), so a flat window gives 0/0; use a larger k1 L and k2 L`;
  }
  return undefined;
}

/**
 * A result (or gradient) that is not finite from finite inputs: an InputError whose message names
 * the images as the library knows them (x, y); `describe` gives the same message under other
 * names (the CLI's file names).
 */
export class NonFiniteError extends InputError {
  override name = 'NonFiniteError';
  constructor(readonly describe: (names: readonly [string, string]) => string) {
    super(describe(['x', 'y']));
  }
}

/**
 * Throws a NonFiniteError when the value or a gradient is not finite; returns the value. The
 * gradients are scanned only when the value is finite (a NaN value is the cause already).
 */
export function requireFinite(
  value: number,
  c: FiniteContext,
  x: Tensor,
  y: Tensor,
  gradients: ReadonlyArray<readonly [string, ArrayLike<number> | null | undefined]> = [],
  fallback?: string,
): number {
  const cause = (names: readonly [string, string]): string => nonFiniteCause(c, [[x, names[0]], [y, names[1]]], fallback);
  if (!Number.isFinite(value)) throw new NonFiniteError((names) => `the result is ${value} under these options; ${cause(names)}`);
  for (const [what, g] of gradients) {
    if (g === null || g === undefined) continue;
    for (let i = 0; i < g.length; i++) {
      const v = g[i]!;
      // a gradient is named as d ssim/dx ("the gradient d ssim/dx"); a JVP or HVP by its own noun ("the JVP of ssim"), a scalar without an index
      const named = what.startsWith('d ') ? `the gradient ${what}` : what;
      const where = g.length > 1 ? ` at flat index ${i}` : '';
      if (!Number.isFinite(v)) throw new NonFiniteError((names) => `${named} is ${v}${where} under these options; ${cause(names)}`);
    }
  }
  return value;
}

/**
 * A variant's loss that is not a number where SSIM's constants and magnitudes are not the cause,
 * in words, named with its field options and what is degenerate about them (all zero: 0/0).
 */
export function variantLossNote(variant: {
  readonly decl: { readonly name: string; readonly options?: Readonly<Record<string, { readonly flag?: string }>> };
  readonly fields: Readonly<Record<string, { readonly data: ArrayLike<number> }>>;
}): string {
  const notes = Object.entries(variant.fields).map(([key, f]) => {
    const flag = variant.decl.options?.[key]?.flag ?? key;
    return Array.prototype.every.call(f.data, (v: number) => v === 0) ? `--${flag} is zero everywhere` : `--${flag}`;
  });
  return `the ${variant.decl.name} variant's loss is not a number on these inputs${notes.length > 0 ? `; check its options (${notes.join(', ')})` : ''}`;
}

/**
 * Results that are not finite from finite inputs, refused with one line naming the cause (exit 2):
 * the one validation `value`, `grad`, `check` and `trace` share. SSIM's value or gradient is not a
 * number where C1 or C2 is 0 on a flat window (0/0), where the magnitudes met (a value of X or Y,
 * the data range, k1 L or k2 L) are so large that SSIM's products of four overflow, or so small
 * that they underflow in float32 (the checker's rounding floor is measured in float32 arithmetic),
 * or where a variant's own loss is not a number there (a mask of zeros: 0/0).
 */
import { InputError, type Precision, type Tensor } from '../field/index.js';
import { constantsCause, overflowMessage, variantLossNote } from '../model/finite.js';
import { resolveOptions } from '../model/options.js';
import type { VariantOptions } from '../runtime/variants.js';
import { bySsimKernels, resolveVariant, variantName } from '../variants/registry.js';

/** The images with the names the user knows them by (their files). */
export type NamedImages = ReadonlyArray<readonly [Tensor, string]>;

/** float32's smallest normal number: below it products lose their digits, and soon vanish. */
const FLOAT32_MIN_NORMAL = 2 ** -126;

const constantsOf = (o: VariantOptions): { dataRange: number | undefined; k1: number; k2: number } => {
  try {
    const c = resolveOptions(o);
    return { dataRange: c.dataRange, k1: c.k1, k2: c.k2 };
  } catch {
    // the options are judged elsewhere (and before): here only their magnitudes matter
    return { dataRange: o.dataRange, k1: o.k1 ?? 0.01, k2: o.k2 ?? 0.03 };
  }
};

/**
 * The mirror of overflowMessage for float32: every magnitude SSIM's moments are made of (the values
 * of X and Y, k1 L, k2 L) so small that their products of four fall below float32's normal range.
 */
function underflowMessage(images: NamedImages, dataRange: number | undefined, k1: number, k2: number): string | undefined {
  const L = dataRange !== undefined && Number.isFinite(dataRange) ? Math.abs(dataRange) : 0;
  let m = Math.max(Math.abs(k1) * L, Math.abs(k2) * L);
  for (const [t] of images) for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs(t.data[i]!));
  const limit = FLOAT32_MIN_NORMAL ** 0.25;
  if (m >= limit || m === 0) return undefined;
  return (
    `the values of X and Y, k1 L and k2 L reach at most ${m.toExponential(2)} in magnitude, and SSIM's products of four such values ` +
    `underflow float32 (the rounding floor is measured in float32 arithmetic) below about ${limit.toExponential(1)}; ` +
    'scale X, Y and --data-range up by one factor (SSIM does not change)'
  );
}

/** A user's (or built-in) variant's field options, by flag, with what is degenerate about them (all zero). */
function fieldsNote(o: VariantOptions): string | undefined {
  // computed by SSIM's kernels: its causes are SSIM's own (the constants, the magnitudes)
  if (bySsimKernels(o.variant)) return undefined;
  let r;
  try {
    r = resolveVariant(o);
  } catch {
    return undefined;
  }
  return variantLossNote(r);
}

/**
 * What to say when a result is not a number from finite inputs: 0/0 where C1 or C2 is 0 on a flat
 * window, magnitudes that overflow (float64, or float32 for the checker's floor) or underflow
 * float32, or a variant's loss that is not a number (named with its field options).
 */
export function nonFiniteHint(o: VariantOptions, images: NamedImages, arithmetic: Precision = 'float64'): string {
  const { dataRange, k1, k2 } = constantsOf(o);
  const constants = constantsCause({ k1: o.k1 ?? k1, k2: o.k2 ?? k2, dataRange });
  if (constants !== undefined) return constants;
  const over = overflowMessage(images, dataRange, arithmetic, { k1, k2 });
  if (over !== undefined) return over;
  if (arithmetic === 'float32') {
    const under = underflowMessage(images, dataRange, k1, k2);
    if (under !== undefined) return under;
  }
  return fieldsNote(o) ?? 'check the options against the data';
}

/**
 * Refuses (InputError, exit 2) a result that is not finite: `what` ("the result", "the gradient")
 * is named with the first value that is not, its flat index when `values` is an array, `note`
 * after the index ("(nothing written)"), and the cause (nonFiniteHint).
 */
function requireFinite(
  what: string,
  values: number | ArrayLike<number>,
  o: VariantOptions,
  images: NamedImages,
  how: { readonly arithmetic?: Precision; readonly note?: string } = {},
): void {
  let bad: number | undefined;
  let at = -1;
  if (typeof values === 'number') {
    if (!Number.isFinite(values)) bad = values;
  } else {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        bad = values[i]!;
        at = i;
        break;
      }
    }
  }
  if (bad === undefined) return;
  const where = at >= 0 ? ` at flat index ${at}` : '';
  throw new InputError(`${what} is ${bad}${where} under these options${how.note !== undefined ? ` ${how.note}` : ''}; ${nonFiniteHint(o, images, how.arithmetic)}`);
}

/**
 * Refuses (InputError) what a check or a trace cannot rest on: SSIM or the variant's value, or the
 * exact gradient, not finite in float64, or the rounding floor not finite in float32 arithmetic.
 * `input.names` are the images' names in the message (the CLI's file names; default 'x', 'y').
 */
export function refuseNonFinite(
  input: { readonly x: Tensor; readonly y: Tensor; readonly options: VariantOptions; readonly names?: { readonly x: string; readonly y: string } },
  what: { readonly value?: number; readonly ssim?: number; readonly exact?: ArrayLike<number>; readonly floor?: { readonly maxAbs: number; readonly l2: number } },
): void {
  const named: NamedImages = [[input.x, input.names?.x ?? 'x'], [input.y, input.names?.y ?? 'y']];
  if (what.value !== undefined) requireFinite('the result', what.value, input.options, named);
  if (what.ssim !== undefined) requireFinite('the ssim', what.ssim, input.options, named);
  if (what.exact !== undefined) requireFinite('the exact gradient', what.exact, input.options, named);
  if (what.floor !== undefined) {
    const f = what.floor;
    requireFinite('the rounding floor (the exact gradient in float32 arithmetic against float64)', Number.isFinite(f.maxAbs) ? f.l2 : f.maxAbs, input.options, named, { arithmetic: 'float32' });
  }
}

/**
 * Refuses (InputError, exit 2) a JVP's or HVP's rounding floor that float32 arithmetic could not
 * measure: the float32 forward mode (and forward over reverse) forms products of more values than
 * the gradient's kernels (the quotient rule's squared denominators, up to eight), so it overflows
 * and underflows float32 at magnitudes where `value`, `grad` and `check` still work (about 1e7 and
 * above, 1e-6 and below). Worded as refuseNonFinite's floor: the float32 floor named, and a rescale
 * suggested (SSIM does not change when X, Y and the data range scale by one factor).
 */
export function refuseForwardFloor(
  input: { readonly x: Tensor; readonly y: Tensor; readonly options: VariantOptions },
  mode: 'JVP' | 'HVP',
  bad?: number,
): never {
  const { dataRange, k1, k2 } = constantsOf(input.options);
  const L = dataRange !== undefined && Number.isFinite(dataRange) ? Math.abs(dataRange) : 0;
  let m = L;
  for (const t of [input.x, input.y]) for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs(t.data[i]!));
  const what = `the rounding floor (the exact ${mode} in float32 arithmetic against float64) is ${bad ?? 'not finite'} under these options; `;
  const products = `the values of X and Y and the data range reach at most ${m.toExponential(2)} in magnitude, and the ${mode}'s float32 arithmetic ` +
    "(the rounding floor is measured in it) forms products of up to eight such values (the quotient rule's squared denominators), which ";
  const constants = constantsCause({ k1: input.options.k1 ?? k1, k2: input.options.k2 ?? k2, dataRange });
  if (constants === undefined && m >= 1e3) {
    throw new InputError(`${what}${products}overflow float32 here; scale X, Y and --data-range down by one factor (SSIM does not change)`);
  }
  if (constants === undefined && m > 0 && m <= 1e-3) {
    throw new InputError(`${what}${products}underflow float32 here; scale X, Y and --data-range up by one factor (SSIM does not change)`);
  }
  throw new InputError(`${what}${nonFiniteHint(input.options, [[input.x, 'x'], [input.y, 'y']], 'float32')}`);
}

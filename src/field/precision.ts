/**
 * Precision: the one vocabulary for how numbers are stored and computed. `float64` is as written;
 * `float32` rounds to float32 (Float32Array planes, or Math.fround after every operation where
 * float32 arithmetic is emulated). Every layer spells precision with these two words; the graph
 * adds `float32-storage` on top (src/graph/evaluate.ts), and the generated kernels keep their
 * `F64` / `F32` suffixes, read from `suffixOf`.
 */
export type Precision = 'float64' | 'float32';

/** Every precision, float64 first. */
export const PRECISIONS: readonly Precision[] = ['float64', 'float32'];

const SUFFIX = { float64: 'F64', float32: 'F32' } as const satisfies Record<Precision, string>;
const ARRAY = { float64: 'Float64Array', float32: 'Float32Array' } as const satisfies Record<Precision, string>;

/** The suffix of a generated kernel's name and table entry for a storage precision: valueF64, gradF32. */
export type StorageSuffix = (typeof SUFFIX)[Precision];

/** The kernel-name suffix of a precision: 'float64' -> 'F64', 'float32' -> 'F32'. */
export function suffixOf(p: Precision): StorageSuffix {
  return SUFFIX[p];
}

/** The precision a kernel-name suffix stands for (the inverse of `suffixOf`). */
export function precisionOf(s: StorageSuffix): Precision {
  return s === SUFFIX.float32 ? 'float32' : 'float64';
}

/** The typed array a precision stores its planes in, by name (for the emitters): Float64Array, Float32Array. */
export function arrayNameOf(p: Precision): (typeof ARRAY)[Precision] {
  return ARRAY[p];
}

const exactly = (v: number): number => v;

/** How a precision rounds one result: the identity in float64, Math.fround in float32. */
export function rounding(p: Precision = 'float64'): (v: number) => number {
  return p === 'float32' ? Math.fround : exactly;
}

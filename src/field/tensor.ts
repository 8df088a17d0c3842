/** Tensors as the library takes them, and the NCHW float64 fields the operators work on. */

/** A tensor: shape HW, CHW or NCHW, data in C order. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** N, C, H, W. */
export type Shape4 = readonly [number, number, number, number];

/** A float64 field over N x C x H x W. */
export interface Field {
  readonly shape: Shape4;
  readonly data: Float64Array;
}

/** Bad input named by argument: the CLI turns it into exit code 2 and a one-line message. */
export class InputError extends Error {
  override name = 'InputError';
}

/** A number in decimal notation, as the CLI's number options take it (Number() would also take '0x3', '0b11', ' 7 ' or ''). */
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A message on one line, as every exit-2 error is: a line break in text the user supplied (a
 * formula, a variant's name, an option's check) is shown as the two characters \\n.
 */
export const oneLineText = (s: string): string => s.replace(/\r\n|\r|\n/g, '\\n');

/**
 * `table[key]` when the table itself holds the key, else undefined: a key a user gives (an option,
 * a flag) may be 'constructor' or '__proto__', which a plain lookup finds on Object.prototype.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table !== undefined && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const kindOf = (v: unknown): string =>
  v === null ? 'null' : v === undefined ? 'undefined' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? (ArrayBuffer.isView(v) ? v.constructor.name : 'an object') : `${String(v).slice(0, 20)} (a ${typeof v})`;

/**
 * That `t` is a tensor as the library takes it, { shape, data }: shape an array, data a typed
 * array of numbers (not BigInt) or an array; what else arrives from JavaScript is named by argument.
 */
export function checkTensor(t: unknown, what: string): asserts t is Tensor {
  if (t === null || typeof t !== 'object') throw new InputError(`${what}: got ${kindOf(t)}, expected a tensor { shape, data }`);
  const { shape, data } = t as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape)) throw new InputError(`${what}: shape is ${kindOf(shape)}, expected an array such as [H, W]`);
  const numeric = Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array));
  if (!numeric) throw new InputError(`${what}: data is ${kindOf(data)}, expected a Float64Array, a Float32Array or an array of numbers`);
  if (Array.isArray(data)) {
    // an array may hold anything: a string would read as NaN further on
    const i = data.findIndex((v) => typeof v !== 'number');
    if (i >= 0) throw new InputError(`${what}: value at flat index ${i} is ${typeof data[i] === 'string' ? `'${String(data[i]).slice(0, 20)}' (a string)` : kindOf(data[i])}, expected a finite number`);
  }
}

/** The NCHW shape of an HW, CHW or NCHW tensor; `what` names the argument in errors. */
export function shape4(t: Tensor, what: string): Shape4 {
  checkTensor(t, what);
  const s = t.shape;
  if (!Array.isArray(s) || s.length < 2 || s.length > 4) {
    throw new InputError(`${what}: expected a tensor of shape HW, CHW or NCHW, got shape [${s}]`);
  }
  if (!s.every((d) => Number.isInteger(d) && d > 0)) throw new InputError(`${what}: shape [${s}] must hold positive integers`);
  if (sizeOf(s) !== t.data.length) throw new InputError(`${what}: shape [${s}] needs ${sizeOf(s)} values, data has ${t.data.length}`);
  const full = [1, 1, ...s].slice(-4);
  return [full[0]!, full[1]!, full[2]!, full[3]!];
}

/** The tensor as a float64 NCHW field, checked for NaN and Inf. */
export function toField(t: Tensor, what: string): Field {
  const shape = shape4(t, what);
  const data = Float64Array.from(t.data);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new InputError(`${what}: value at flat index ${i} is ${data[i]}, expected a finite number`);
  }
  return { shape, data };
}

export const field = (shape: Shape4, data?: Float64Array): Field => ({ shape, data: data ?? new Float64Array(sizeOf(shape)) });

/** <a, b>, summed pairwise for accuracy (dot-product tests compare to 1e-12). */
export function dot(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`dot: lengths ${a.length} and ${b.length}`);
  const rec = (lo: number, hi: number): number => {
    if (hi - lo <= 64) {
      let s = 0;
      for (let i = lo; i < hi; i++) s += a[i]! * b[i]!;
      return s;
    }
    const mid = (lo + hi) >> 1;
    return rec(lo, mid) + rec(mid, hi);
  };
  return rec(0, a.length);
}

/** Above this magnitude a value's square is summed scaled down (its square could overflow in a sum). */
const BIG = 2 ** 400;
/** Below this magnitude a value's square is summed scaled up (its square could underflow). */
const SMALL = 2 ** -400;
/** The scalings applied to them: exact powers of two, so the scaling itself never rounds. */
const DOWN = 2 ** -600;
const UP = 2 ** 600;

/**
 * A sum of squares in one pass without overflow or underflow (J. L. Blue, "A portable Fortran
 * program to find the Euclidean norm of a vector", 1978): mid-sized values are summed as they are,
 * large and small ones in their own accumulators scaled by exact powers of two.
 */
export class SumOfSquares {
  private big = 0;
  private mid = 0;
  private small = 0;
  private infinite = false;
  add(v: number): void {
    const a = Math.abs(v);
    if (a > BIG) {
      if (a === Infinity) this.infinite = true;
      const s = a * DOWN;
      this.big += s * s;
    } else if (a < SMALL) {
      const s = a * UP;
      this.small += s * s;
    } else this.mid += a * a;
  }
  /** Adds (2 h)^2 for a finite h whose double is beyond float64 (a difference of two values near 1e308). */
  addDouble(h: number): void {
    const s = 2 * Math.abs(h) * DOWN;
    this.big += s * s;
  }
  /**
   * sqrt of the sum, clamped to Number.MAX_VALUE where finite values' norm is beyond float64's range
   * (Infinity only when a value was infinite; NaN when one was NaN).
   */
  norm(): number {
    // a NaN lands in the middle accumulator (it fails both comparisons)
    if (Number.isNaN(this.mid)) return Number.NaN;
    if (this.infinite) return Infinity;
    // the small accumulator is negligible beside a big one (2^-1000 relative at most), and vice versa
    if (this.big > 0) return clampFinite(Math.sqrt(this.big + this.mid * DOWN * DOWN) / DOWN);
    if (this.mid > 0) return Math.sqrt(this.mid + this.small * DOWN * DOWN);
    return Math.sqrt(this.small) / UP;
  }
}

/** v, with +-Infinity clamped to +-Number.MAX_VALUE (NaN stays NaN: it is a bug, not a magnitude). */
export const clampFinite = (v: number): number => (v === Infinity ? Number.MAX_VALUE : v === -Infinity ? -Number.MAX_VALUE : v);

/**
 * Below this a plain sum of squares may have lost values to underflow, and it is redone scaled; above
 * it (and finite) the plain sum is exact to rounding: what underflowed is under 2^-274 of it.
 */
const PLAIN_SUM_MIN = 2 ** -800;

/** ||a||_2, without overflow or underflow (clamped to Number.MAX_VALUE beyond float64's range). */
export function norm2(a: ArrayLike<number>): number {
  // the plain sum first (the common case, at full speed); scaled only where it overflowed or may have underflowed
  let ss = 0;
  for (let i = 0; i < a.length; i++) ss += a[i]! * a[i]!;
  if (ss < Infinity && ss >= PLAIN_SUM_MIN) return Math.sqrt(ss);
  const s = new SumOfSquares();
  for (let i = 0; i < a.length; i++) s.add(a[i]!);
  return s.norm();
}

/**
 * max |a - b| and ||a - b||_2, without overflow: where a - b itself leaves float64's range (finite
 * values near 1e308 of opposite signs) both are clamped to Number.MAX_VALUE.
 */
export function differenceNorms(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; l2: number } {
  let maxAbs = 0;
  let ss = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    ss += d * d;
  }
  // plain sums where they are sound (finite, and not small enough to have lost values to underflow)
  if (maxAbs === 0 || (maxAbs < Infinity && ss < Infinity && ss >= PLAIN_SUM_MIN)) return { maxAbs, l2: Math.sqrt(ss) };
  maxAbs = 0;
  const s = new SumOfSquares();
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d - d !== 0 && Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) {
      s.addDouble(a[i]! / 2 - b[i]! / 2);
      maxAbs = Number.MAX_VALUE;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(d));
    s.add(d);
  }
  return { maxAbs, l2: s.norm() };
}


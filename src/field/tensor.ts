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

/** max |a - b| and ||a - b||_2. */
export function differenceNorms(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; l2: number } {
  let maxAbs = 0;
  let ss = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    ss += d * d;
  }
  return { maxAbs, l2: Math.sqrt(ss) };
}

/** ||a||_2. */
export const norm2 = (a: ArrayLike<number>): number => {
  let ss = 0;
  for (let i = 0; i < a.length; i++) ss += a[i]! * a[i]!;
  return Math.sqrt(ss);
};

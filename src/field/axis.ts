/**
 * One-dimensional strided correlation under a boundary rule, the building block of every
 * linear field operator: out[i] = sum_t taps[t] * in[b(i*stride + t - origin)], where b maps an
 * index outside [0, n) back into the signal (or drops the term, for zero padding). The
 * transpose scatters through the same index table, so it is the exact adjoint for every rule.
 */
import { BOUNDARIES, BOUNDARY_RULES, type Boundary } from './boundary.js';
import { compileIndexRule } from './index-rule.js';
import type { Precision } from './precision.js';

export { BOUNDARIES, type Boundary } from './boundary.js';

// the rules' programs, run for the indices outside the signal
const OUTSIDE: Readonly<Record<Boundary, (j: number, n: number) => number>> = Object.fromEntries(
  BOUNDARIES.map((b) => [b, compileIndexRule(BOUNDARY_RULES[b].source)]),
) as Record<Boundary, (j: number, n: number) => number>;

/** Maps index j into [0, n) under the rule, or -1 for a zero. Repeats the rule when |j| > n. */
export function boundaryIndex(j: number, n: number, rule: Boundary): number {
  if (j >= 0 && j < n) return j;
  if (!BOUNDARY_RULES[rule].pads) throw new Error(`axis: index ${j} outside [0, ${n}) under '${rule}'`);
  return OUTSIDE[rule](j, n);
}

/** A 1-D strided correlation of a signal of length n, as an index table. */
export interface AxisOp {
  readonly inLength: number;
  readonly outLength: number;
  readonly taps: Float64Array;
  /** index[i * taps.length + t]: the input index read by tap t of output i, or -1 (a zero). */
  readonly index: Int32Array;
}

export interface AxisSpec {
  taps: ArrayLike<number>;
  /** Tap aligned with output position 0 (r = (k-1)/2 centres an odd window). */
  origin: number;
  stride?: number;
  boundary: Boundary;
  /** Output length; by default n for stride 1 (n - k + 1 under 'valid'). */
  outLength?: number;
}

export function axisOp(n: number, spec: AxisSpec): AxisOp {
  const taps = Float64Array.from(spec.taps);
  const k = taps.length;
  const stride = spec.stride ?? 1;
  const outLength = spec.outLength ?? (spec.boundary === 'valid' ? n - k + 1 : Math.ceil(n / stride));
  if (outLength < 1) throw new Error(`axis: length ${n} gives no output for ${k} taps under '${spec.boundary}'`);
  const index = new Int32Array(outLength * k);
  for (let i = 0; i < outLength; i++) {
    for (let t = 0; t < k; t++) index[i * k + t] = boundaryIndex(i * stride + t - spec.origin, n, spec.boundary);
  }
  return { inLength: n, outLength, taps, index };
}

/** The identity on a signal of length n (an axis left unsmoothed). */
export function identityAxis(n: number): AxisOp {
  return axisOp(n, { taps: [1], origin: 0, boundary: 'valid' });
}

/**
 * Applies op along one axis of a block of `outer` x n x `inner` values (inner contiguous):
 * forward reads `src` with the input length, transpose reads with the output length; the
 * transpose scatters through the same index table as the forward gathers. In float32 the taps are
 * rounded to float32 and every multiply and add is Math.fround-ed (what a float32 kernel computes):
 * one loop serves both precisions, the rounding is the parameter.
 */
export function applyAxis(op: AxisOp, src: Float64Array, outer: number, inner: number, transpose: boolean, arith: Precision = 'float64'): Float64Array {
  const k = op.taps.length;
  const f32 = arith === 'float32';
  const taps = f32 ? op.taps.map(Math.fround) : op.taps;
  const { index, inLength, outLength } = op;
  const [srcLength, dstLength] = transpose ? [outLength, inLength] : [inLength, outLength];
  const dst = new Float64Array(outer * dstLength * inner);
  for (let o = 0; o < outer; o++) {
    const sBase = o * srcLength * inner;
    const dBase = o * dstLength * inner;
    for (let i = 0; i < outLength; i++) {
      for (let t = 0; t < k; t++) {
        const j = index[i * k + t]!;
        if (j < 0) continue;
        const w = taps[t]!;
        // output i reads input j; its transpose writes input j from output i
        const s = sBase + (transpose ? i : j) * inner;
        const d = dBase + (transpose ? j : i) * inner;
        // two loops, not one through `r`: a call through a variable is not inlined (30 x slower in float32)
        if (f32) for (let q = 0; q < inner; q++) dst[d + q] = Math.fround(dst[d + q]! + Math.fround(w * src[s + q]!));
        else for (let q = 0; q < inner; q++) dst[d + q] = dst[d + q]! + w * src[s + q]!;
      }
    }
  }
  return dst;
}

/**
 * Comparing a candidate gradient with the exact one: where the error sits (interior and border
 * band, per channel), the best single scale, and the best combination of the three chain-rule
 * terms. All least squares are in float64 over the whole tensor.
 */
import type { Shape4 } from '../field/index.js';
import { norm2 } from './floor.js';

/** Error statistics over a set of pixels. */
export interface ErrorStats {
  /** max |candidate - exact|. */
  readonly maxAbs: number;
  /** ||candidate - exact||_2. */
  readonly l2: number;
  /** l2 / ||exact||_2 over the same pixels (0 when both are 0). */
  readonly relL2: number;
  /** How many pixels. */
  readonly count: number;
}

/** Errors in the interior and in the border band, overall and per channel (pooled over the batch). */
export interface RegionErrors {
  /** Width of the border band in pixels. */
  readonly band: number;
  readonly interior: ErrorStats;
  readonly border: ErrorStats;
  readonly channels: ReadonlyArray<{ readonly channel: number; readonly interior: ErrorStats; readonly border: ErrorStats }>;
}

class Acc {
  maxAbs = 0;
  ssDiff = 0;
  ssExact = 0;
  count = 0;
  add(c: number, e: number): void {
    const d = c - e;
    this.maxAbs = Math.max(this.maxAbs, Math.abs(d));
    this.ssDiff += d * d;
    this.ssExact += e * e;
    this.count++;
  }
  stats(): ErrorStats {
    const l2 = Math.sqrt(this.ssDiff);
    const ref = Math.sqrt(this.ssExact);
    return { maxAbs: this.maxAbs, l2, relL2: ref > 0 ? l2 / ref : l2 > 0 ? Infinity : 0, count: this.count };
  }
}

/** True when pixel (i, j) of an H x W plane lies within `band` pixels of an edge. */
export const inBand = (i: number, j: number, H: number, W: number, band: number): boolean =>
  i < band || j < band || i >= H - band || j >= W - band;

/** Splits |candidate - exact| into the interior and the border band of width `band`. */
export function regionErrors(candidate: ArrayLike<number>, exact: ArrayLike<number>, shape: Shape4, band: number): RegionErrors {
  const [N, C, H, W] = shape;
  const all = { interior: new Acc(), border: new Acc() };
  const per = Array.from({ length: C }, () => ({ interior: new Acc(), border: new Acc() }));
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const p = ((n * C + c) * H + i) * W + j;
          const where = inBand(i, j, H, W, band) ? 'border' : 'interior';
          all[where].add(candidate[p]!, exact[p]!);
          per[c]![where].add(candidate[p]!, exact[p]!);
        }
      }
    }
  }
  return {
    band,
    interior: all.interior.stats(),
    border: all.border.stats(),
    channels: per.map((a, channel) => ({ channel, interior: a.interior.stats(), border: a.border.stats() })),
  };
}

const dotp = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** The best k with candidate ~ k * reference, and the part of the candidate it leaves unexplained. */
export interface ScaleFit {
  readonly k: number;
  /** ||candidate - k reference|| / ||candidate|| (0: a pure scale; near 1: unrelated). */
  readonly residual: number;
}

/** Least-squares scale of `reference` that best matches `candidate`. */
export function scaleFit(candidate: ArrayLike<number>, reference: ArrayLike<number>): ScaleFit {
  const rr = dotp(reference, reference);
  const k = rr > 0 ? dotp(candidate, reference) / rr : 0;
  let ss = 0;
  for (let i = 0; i < candidate.length; i++) ss += (candidate[i]! - k * reference[i]!) ** 2;
  const cn = norm2(candidate);
  return { k, residual: cn > 0 ? Math.sqrt(ss) / cn : 0 };
}

/** Least-squares coefficients of the candidate on the three chain-rule terms (exact: 1, 1, 1). */
export interface TermFit {
  /** Coefficient of W^T g_mu. */
  readonly mean: number;
  /** Coefficient of 2 x W^T g_xx (2 y W^T g_yy for y). */
  readonly square: number;
  /** Coefficient of y W^T g_xy (x W^T g_xy for y). */
  readonly cross: number;
  /** ||candidate - fit|| / ||candidate||. */
  readonly residual: number;
}

/** Solves the 3 x 3 normal equations of candidate ~ a T1 + b T2 + c T3 (Cramer's rule; NaN when singular). */
export function termFit(candidate: ArrayLike<number>, terms: readonly [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>]): TermFit {
  // normalised columns keep the Gram matrix near unit scale whatever the gradient's magnitude
  const s = terms.map((t) => norm2(t) || 1);
  const G = terms.map((a, i) => terms.map((b, j) => dotp(a, b) / (s[i]! * s[j]!)));
  const r = terms.map((a, i) => dotp(a, candidate) / s[i]!);
  const det3 = (m: number[][]): number =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det3(G);
  const coef = [0, 1, 2].map((col) => det3(G.map((row, i) => row.map((v, j) => (j === col ? r[i]! : v)))) / d / s[col]!);
  const [a, b, c] = coef as [number, number, number];
  let ss = 0;
  for (let i = 0; i < candidate.length; i++) ss += (candidate[i]! - a * terms[0][i]! - b * terms[1][i]! - c * terms[2][i]!) ** 2;
  const cn = norm2(candidate);
  return { mean: a, square: b, cross: c, residual: cn > 0 ? Math.sqrt(ss) / cn : 0 };
}

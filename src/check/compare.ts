/**
 * Comparing a candidate gradient with the exact one: where the error sits (interior and border
 * band, per channel), the best single scale, and the best combination of the three chain-rule
 * terms. All least squares are in float64 over the whole tensor.
 */
import type { Shape4 } from '../field/index.js';
import type { SsimConfig, SsimEvaluation } from '../runtime/index.js';
import { downsampleFactor } from '../model/options.js';
import { relativeScale } from './floor.js';
import { clampFinite, maxAbsOf, norm2, ratio, scaleFor, SumOfSquares } from './stable.js';

/** The border band: pixels whose gradient involves the boundary rule, the map's edge or the crop. */
export function borderBand(e: SsimEvaluation, inputShape: Shape4): number {
  return bandOf(e.config, inputShape);
}

/** borderBand from the configuration alone (what the checker uses when it has no whole-image evaluation). */
export function bandOf(config: SsimConfig, inputShape: Shape4): number {
  const r = (config.size - 1) / 2;
  const f = downsampleFactor(config, inputShape[2], inputShape[3]);
  return (config.padding === 'valid' ? 2 * r : r) * f + config.crop * f;
}

/** Error statistics over a set of pixels. */
export interface ErrorStats {
  /** max |candidate - exact|. */
  readonly maxAbs: number;
  /** ||candidate - exact||_2. */
  readonly l2: number;
  /** l2 / ||exact||_2 over the same pixels (0 when both are 0); with the floor given, over relativeScale of it (src/check/floor.ts). */
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

/** Below this a plain sum of squares may have lost values to underflow (as in src/field/tensor.ts). */
const PLAIN_SUM_MIN = 2 ** -800;

/** The plain accumulator (the common case, at full speed). */
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
  /** Whether the plain sums can be trusted: finite, and not so small that values underflowed. */
  sound(): boolean {
    const ok = (ss: number): boolean => ss === 0 || (ss < Infinity && ss >= PLAIN_SUM_MIN);
    return this.maxAbs < Infinity && ok(this.ssDiff) && ok(this.ssExact) && (this.ssDiff > 0 || this.maxAbs === 0);
  }
  /** `floorL2`: the floor's share of these pixels (0: none known). */
  stats(floorL2: number): ErrorStats {
    return statsOf(this.maxAbs, Math.sqrt(this.ssDiff), Math.sqrt(this.ssExact), this.count, floorL2);
  }
}

/** The overflow-safe accumulator, for a second pass where the plain sums are not sound (a candidate pixel of 1e300). */
class SafeAcc {
  maxAbs = 0;
  readonly ssDiff = new SumOfSquares();
  readonly ssExact = new SumOfSquares();
  count = 0;
  add(c: number, e: number): void {
    const d = c - e;
    if (d - d !== 0 && Number.isFinite(c) && Number.isFinite(e)) {
      // the difference itself beyond float64 (values near 1e308 of opposite signs): summed halved, its max clamped
      this.ssDiff.addDouble(c / 2 - e / 2);
      this.maxAbs = Number.MAX_VALUE;
    } else {
      this.maxAbs = Math.max(this.maxAbs, Math.abs(d));
      this.ssDiff.add(d);
    }
    this.ssExact.add(e);
    this.count++;
  }
  stats(floorL2: number): ErrorStats {
    return statsOf(this.maxAbs, this.ssDiff.norm(), this.ssExact.norm(), this.count, floorL2);
  }
}

function statsOf(maxAbs: number, l2: number, exactNorm: number, count: number, floorL2: number): ErrorStats {
  const ref = relativeScale(exactNorm, floorL2);
  // no reference at all (no floor given, the exact gradient zero): l2 itself, clamped, stands for "l2 / 0"
  return { maxAbs, l2, relL2: ref > 0 ? ratio(l2, ref) : l2 > 0 ? Number.MAX_VALUE : 0, count };
}

/** True when pixel (i, j) of an H x W plane lies within `band` pixels of an edge. */
export const inBand = (i: number, j: number, H: number, W: number, band: number): boolean =>
  i < band || j < band || i >= H - band || j >= W - band;

/**
 * Splits |candidate - exact| into the interior and the border band of width `band`. With the
 * rounding floor's L2 over the whole tensor (`floorL2`), each region's relative error divides by
 * relativeScale of its share, floorL2 sqrt(count / total), so that a region where the exact
 * gradient is ~0 (a flat patch, constant images) gets a finite figure.
 */
export function regionErrors(candidate: ArrayLike<number>, exact: ArrayLike<number>, shape: Shape4, band: number, floorL2 = 0): RegionErrors {
  // plain sums first (full speed); again with overflow-safe ones where they are not sound
  const plain = accumulate(candidate, exact, shape, band, () => new Acc());
  const { all, per } = [plain.all.interior, plain.all.border, ...plain.per.flatMap((p) => [p.interior, p.border])].every((a) => a.sound())
    ? plain
    : accumulate(candidate, exact, shape, band, () => new SafeAcc());
  const [N, C, H, W] = shape;
  const total = N * C * H * W;
  const stats = (a: Acc | SafeAcc): ErrorStats => a.stats(total > 0 ? floorL2 * Math.sqrt(a.count / total) : 0);
  return {
    band,
    interior: stats(all.interior),
    border: stats(all.border),
    channels: per.map((a, channel) => ({ channel, interior: stats(a.interior), border: stats(a.border) })),
  };
}

/** The interior's and the border band's accumulators, overall and per channel. */
function accumulate<A extends Acc | SafeAcc>(candidate: ArrayLike<number>, exact: ArrayLike<number>, shape: Shape4, band: number, make: () => A) {
  const [N, C, H, W] = shape;
  const all = { interior: make(), border: make() };
  const per = Array.from({ length: C }, () => ({ interior: make(), border: make() }));
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
  return { all, per };
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

/** scaleFit with the norm of the fitted part, ||k reference|| (for the mistakes' distances after scaling). */
export function scaleFitDetail(candidate: ArrayLike<number>, reference: ArrayLike<number>): ScaleFit & { readonly fittedNorm: number } {
  // on copies scaled by powers of two into float64's safe range: the fit is scale-free, k rescaled at the end
  const sc = scaleFor(maxAbsOf(candidate));
  const sr = scaleFor(maxAbsOf(reference));
  let rr = 0;
  let cr = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]! * sr;
    rr += r * r;
    cr += candidate[i]! * sc * r;
  }
  const k1 = rr > 0 ? cr / rr : 0;
  const ss = new SumOfSquares();
  const cs = new SumOfSquares();
  for (let i = 0; i < candidate.length; i++) {
    const c = candidate[i]! * sc;
    ss.add(c - k1 * reference[i]! * sr);
    cs.add(c);
  }
  const cn = cs.norm();
  // k = k1 sr / sc, and ||k reference|| = |k1| ||reference sr|| / sc, each clamped to float64's range
  const k = clampFinite((k1 * sr) / sc);
  const fittedNorm = clampFinite((Math.abs(k1) * Math.sqrt(rr)) / sc);
  return { k, residual: cn > 0 ? ss.norm() / cn : 0, fittedNorm };
}

/** Least-squares scale of `reference` that best matches `candidate` (computed scaled: finite for any finite data). */
export function scaleFit(candidate: ArrayLike<number>, reference: ArrayLike<number>): ScaleFit {
  const { k, residual } = scaleFitDetail(candidate, reference);
  return { k, residual };
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
  /**
   * How many independent directions the three terms span on these inputs: 3 normally, fewer where
   * terms vanish or are proportional (constant images: x = y makes 2x W^T g_xx = -y W^T g_xy).
   * Along a combination the data cannot resolve, the coefficients stay at the exact gradient's 1.
   */
  readonly rank: number;
}

/**
 * Below this fraction of the largest eigenvalue of the normalised Gram matrix (unit diagonal), a
 * direction counts as unresolved: the terms' combination along it is under 1e-6 (the square root)
 * of the terms themselves, so its coefficient would be fitted to whatever small part of the
 * candidate lies outside the terms (float32 rounding of a candidate is 1e-7 relative) and come out
 * as large as that part divided by 1e-6.
 */
const TERM_RCOND = 1e-12;

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric 3 x 3 matrix, by cyclic Jacobi rotations. */
function symmetricEigen3(m: readonly (readonly number[])[]): { values: number[]; vectors: number[][] } {
  const a = m.map((r) => [...r]);
  const v = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 64; sweep++) {
    const off = a[0]![1]! ** 2 + a[0]![2]! ** 2 + a[1]![2]! ** 2;
    const diag = a[0]![0]! ** 2 + a[1]![1]! ** 2 + a[2]![2]! ** 2;
    if (off <= 1e-32 * diag || off === 0) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = a[p]![q]!;
      if (apq === 0) continue;
      const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
      // the smaller rotation angle; for a huge theta, t ~ 1/(2 theta) without squaring it
      const t = Math.abs(theta) > 1e150 ? 1 / (2 * theta) : (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const kp = a[k]![p]!, kq = a[k]![q]!;
        a[k]![p] = c * kp - s * kq;
        a[k]![q] = s * kp + c * kq;
      }
      for (let k = 0; k < 3; k++) {
        const pk = a[p]![k]!, qk = a[q]![k]!;
        a[p]![k] = c * pk - s * qk;
        a[q]![k] = s * pk + c * qk;
      }
      for (let k = 0; k < 3; k++) {
        const kp = v[k]![p]!, kq = v[k]![q]!;
        v[k]![p] = c * kp - s * kq;
        v[k]![q] = s * kp + c * kq;
      }
    }
  }
  return { values: [a[0]![0]!, a[1]![1]!, a[2]![2]!], vectors: v };
}

/**
 * Least squares of candidate ~ a T1 + b T2 + c T3. The exact gradient is T1 + T2 + T3, so the fit
 * is of the candidate's departure from it, (a, b, c) = 1 + d, d the minimum-norm solution of the
 * normal equations (a pseudo-inverse that drops directions the terms do not resolve). Where the
 * terms are independent this is the ordinary least-squares fit; where they are not (constant
 * images, a zero gradient) the coefficients stay finite, at 1 along what the data cannot tell apart,
 * instead of the NaN that a singular 3 x 3 system gives.
 */
export function termFit(candidate: ArrayLike<number>, terms: readonly [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>]): TermFit {
  const [t0, t1, t2] = terms;
  // the departure (and the candidate) scaled by a power of two into float64's safe range: the fit is
  // linear in it, so the coefficients' departures from 1 are rescaled at the end (clamped)
  const sigma = scaleFor(Math.max(maxAbsOf(candidate), maxAbsOf(t0), maxAbsOf(t1), maxAbsOf(t2)));
  const departure = new Float64Array(candidate.length);
  for (let i = 0; i < candidate.length; i++) departure[i] = candidate[i]! * sigma - t0[i]! * sigma - t1[i]! * sigma - t2[i]! * sigma;
  // normalised columns keep the Gram matrix near unit scale whatever the gradient's magnitude; a
  // column under 1e-6 of the largest is scaled as if it were that size, so that one under 1e-12
  // (float64 cancellation noise of the others, e.g. W^T g_mu where x = y) falls below TERM_RCOND
  const norms = terms.map((t) => norm2(t));
  const s = norms.map((n) => Math.max(n, 1e-6 * Math.max(...norms)) || 1);
  const G = terms.map((a, i) => terms.map((b, j) => dotp(a, b) / (s[i]! * s[j]!)));
  const r = terms.map((a, i) => dotp(a, departure) / s[i]!);
  const { values, vectors } = symmetricEigen3(G);
  const largest = Math.max(...values);
  const d = [0, 0, 0];
  let rank = 0;
  for (let k = 0; k < 3; k++) {
    if (!(largest > 0) || values[k]! <= TERM_RCOND * largest) continue;
    rank++;
    const along = (vectors[0]![k]! * r[0]! + vectors[1]![k]! * r[1]! + vectors[2]![k]! * r[2]!) / values[k]!;
    for (let i = 0; i < 3; i++) d[i] = d[i]! + along * vectors[i]![k]!;
  }
  // the scaled departures of the coefficients; the residual is the departure's, all scaled alike
  const [da, db, dc] = d.map((di, i) => di / s[i]!) as [number, number, number];
  const ss = new SumOfSquares();
  const cs = new SumOfSquares();
  for (let i = 0; i < candidate.length; i++) {
    ss.add(departure[i]! - da * t0[i]! - db * t1[i]! - dc * t2[i]!);
    cs.add(candidate[i]! * sigma);
  }
  const cn = cs.norm();
  const [a, b, c] = [da, db, dc].map((v) => clampFinite(1 + v / sigma)) as [number, number, number];
  return { mean: a, square: b, cross: c, residual: cn > 0 ? ss.norm() / cn : 0, rank };
}

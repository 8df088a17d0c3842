/**
 * The variants' gradients written out by hand, as ssim-grad computed them before the field graph
 * (MS-SSIM's pyramid and product rule, Wang's map over one scale, the 3DGS loss's L1 term): for
 * tests only, an implementation independent of the graph's reverse mode that the mistake
 * rewrites are checked against (test/check/variants.test.ts).
 */
import { evaluateVec } from '../../src/expr/index.js';
import { crop, sizeOf, toField, type LinearOp, type Shape4, type Tensor, avgPool2x2 } from '../../src/field/index.js';
import { MSSSIM_WEIGHTS, resolveOptions, type GradientTerms, type SsimConfig, type VariantOptions } from '../../src/runtime/index.js';
import { csMap, ssimMap, type MapGraph } from '../../src/model/maps.js';
import { wangMap } from '../../src/variants/wang.js';
import { windowAndRegion } from '../../src/runtime/reference.js';

export type Side = 'x' | 'y';
type Partials = { mu: Float64Array; sq: Float64Array; cross: Float64Array };

/** One map (S, cs or Wang's) over one scale, with plane weights: its means, partial maps and terms. */
export interface MapParts {
  readonly shape: Shape4;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly window: LinearOp;
  /** Map-grid shape (window output). */
  readonly mapShape: Shape4;
  readonly means: Float64Array;
  readonly planeWeights: Float64Array;
  /** planeWeight omega dF/d(moment), over the map. */
  readonly partials: { readonly x: Partials; readonly y: Partials };
  /** W^T g_mu, 2 self W^T g_ss, other W^T g_xy on this scale's grid. */
  readonly terms: { readonly x: GradientTerms; readonly y: GradientTerms };
}

const times = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, i) => v * b[i]!);

/** Evaluates map's value and partials over one scale in float64 (the graph, node by node). */
export function mapParts(x: Float64Array, y: Float64Array, shape: Shape4, config: SsimConfig, map: MapGraph, planeWeights: Float64Array): MapParts {
  const [N, C] = shape;
  const { window, region } = windowAndRegion(shape, config);
  const n = sizeOf(window.outShape);
  const env = {
    mu_x: window.apply(x), mu_y: window.apply(y),
    m_xx: window.apply(times(x, x)), m_yy: window.apply(times(y, y)), m_xy: window.apply(times(x, y)),
    C1: new Float64Array(n).fill(config.C1), C2: new Float64Array(n).fill(config.C2), c_n: new Float64Array(n).fill(config.covNorm),
  };
  const [F, gmx, gxx, gxy, gmy, gyy] = evaluateVec([map.F, map.dX.mu, map.dX.sq, map.dX.cross, map.dY.mu, map.dY.sq], env, n) as Float64Array[];
  const perPlane = sizeOf(region.outShape) / (N * C);
  const inRegion = region.apply(F!);
  const means = new Float64Array(N * C);
  for (let p = 0; p < N * C; p++) {
    let s = 0;
    for (let q = 0; q < perPlane; q++) s += inRegion[p * perPlane + q]!;
    means[p] = s / perPlane;
  }
  const w = new Float64Array(sizeOf(region.outShape));
  for (let p = 0; p < N * C; p++) w.fill(planeWeights[p]! / perPlane, p * perPlane, (p + 1) * perPlane);
  const omega = region.transpose(w);
  const px: Partials = { mu: times(omega, gmx!), sq: times(omega, gxx!), cross: times(omega, gxy!) };
  const py: Partials = { mu: times(omega, gmy!), sq: times(omega, gyy!), cross: px.cross };
  const termsOf = (self: Float64Array, other: Float64Array, g: Partials): GradientTerms => {
    const sq = window.transpose(g.sq);
    const cr = window.transpose(g.cross);
    return { mean: window.transpose(g.mu), square: self.map((v, i) => 2 * v * sq[i]!), cross: other.map((v, i) => v * cr[i]!) };
  };
  return {
    shape, x, y, window, mapShape: window.outShape, means, planeWeights,
    partials: { x: px, y: py }, terms: { x: termsOf(x, y, px), y: termsOf(y, x, py) },
  };
}

export const sumTerms = (t: GradientTerms): Float64Array => t.mean.map((v, i) => v + t.square[i]! + t.cross[i]!);

/** The per-pixel chain rule on one scale: (W^T 1) times the pixel's own partials (the map centred for 'valid'). */
export function perPixelTerms(parts: MapParts, side: Side): GradientTerms {
  const { window, shape, mapShape } = parts;
  const onGrid = (m: Float64Array): Float64Array => {
    if (mapShape[2] === shape[2] && mapShape[3] === shape[3]) return m;
    const oh = (shape[2] - mapShape[2]) / 2;
    const ow = (shape[3] - mapShape[3]) / 2;
    return crop(shape, oh, oh, ow, ow).transpose(m);
  };
  const g = parts.partials[side];
  const [self, other] = side === 'x' ? [parts.x, parts.y] : [parts.y, parts.x];
  const wt1 = window.transpose(new Float64Array(sizeOf(mapShape)).fill(1));
  const gm = onGrid(g.mu), gs = onGrid(g.sq), gc = onGrid(g.cross);
  return {
    mean: wt1.map((w, p) => w * gm[p]!),
    square: wt1.map((w, p) => w * 2 * self[p]! * gs[p]!),
    cross: wt1.map((w, p) => w * other[p]! * gc[p]!),
  };
}

/** MS-SSIM taken apart: the scales, their pooling, the plane values and d value/d mean per scale. */
export interface MsModel {
  readonly weights: readonly number[];
  readonly pools: readonly LinearOp[];
  /** Per scale: the map's parts with plane weights d value/d mean_j. */
  readonly scales: readonly MapParts[];
  /** Per scale, per plane: mean_j (cs, or S at the last). */
  readonly means: readonly Float64Array[];
  readonly dMeans: readonly Float64Array[];
  readonly value: number;
}

/** d value / d mean_j per plane: the product rule (or, with `asSum`, the mistaken sum rule). */
function msDMeans(means: readonly Float64Array[], weights: readonly number[], asSum = false): Float64Array[] {
  const P = means[0]!.length;
  const J = weights.length;
  const d = means.map(() => new Float64Array(P));
  for (let p = 0; p < P; p++) {
    const v = means.map((m) => Math.max(m[p]!, 0));
    const powers = v.map((vj, j) => vj ** weights[j]!);
    for (let j = 0; j < J; j++) {
      if (v[j]! <= 0) continue;
      const others = asSum ? 1 : powers.reduce((a, b, i) => (i === j ? a : a * b), 1);
      d[j]![p] = (others * weights[j]! * v[j]! ** (weights[j]! - 1)) / P;
    }
  }
  return d;
}

/** The images at every scale and the pooling between them (as src/runtime/variants.ts). */
function msPyramid(x: Tensor, y: Tensor, options: VariantOptions) {
  const config = resolveOptions(options);
  const weights = options.weights ?? MSSSIM_WEIGHTS;
  const fx = toField(x, 'x');
  const shape = fx.shape as Shape4;
  const pooling: 'zero' | 'symmetric' = config.preset === 'tf' ? 'symmetric' : 'zero';
  const xs = [fx.data];
  const ys = [toField(y, 'y').data];
  const shapes = [shape];
  const pools: LinearOp[] = [];
  for (let j = 1; j < weights.length; j++) {
    const pool = avgPool2x2(shapes[j - 1]!, pooling);
    pools.push(pool);
    xs.push(pool.apply(xs[j - 1]!));
    ys.push(pool.apply(ys[j - 1]!));
    shapes.push(pool.outShape);
  }
  return { config, weights, xs, ys, shapes, pools, pooling };
}

const msMaps = (J: number): MapGraph[] => Array.from({ length: J }, (_, j) => (j === J - 1 ? ssimMap() : csMap()));

export function msModel(x: Tensor, y: Tensor, options: VariantOptions, opts: { asSum?: boolean } = {}): MsModel {
  const { config, weights, xs, ys, shapes, pools } = msPyramid(x, y, options);
  const maps = msMaps(weights.length);
  const P = shapes[0]![0] * shapes[0]![1];
  const ones = new Float64Array(P).fill(1);
  const means = xs.map((xj, j) => mapParts(xj, ys[j]!, shapes[j]!, config, maps[j]!, ones).means);
  const dMeans = msDMeans(means, weights, opts.asSum);
  const scales = xs.map((xj, j) => mapParts(xj, ys[j]!, shapes[j]!, config, maps[j]!, dMeans[j]!));
  let value = 0;
  for (let p = 0; p < P; p++) value += means.reduce((a, m, j) => a * Math.max(m[p]!, 0) ** weights[j]!, 1) / P;
  return { weights, pools, scales, means, dMeans, value };
}

/** P_0^T ... P_{j-1}^T v: scale j's field brought back to the input grid (each transpose times `factor`). */
export function pullBack(pools: readonly LinearOp[], j: number, v: Float64Array, factor = 1): Float64Array {
  let g = v;
  for (let k = j - 1; k >= 0; k--) g = pools[k]!.transpose(g).map((u) => factor * u);
  return g;
}

/** The MS-SSIM gradient from per-scale terms: sum over scales of the pulled-back terms. */
export function msGradient(m: MsModel, side: Side, opts: { poolFactor?: number; termsOf?: (parts: MapParts) => GradientTerms; onlyScale0?: boolean } = {}): Float64Array {
  const termsOf = opts.termsOf ?? ((s: MapParts) => s.terms[side]);
  let total: Float64Array | null = null;
  for (let j = 0; j < m.scales.length; j++) {
    if (opts.onlyScale0 && j > 0) continue;
    const g = pullBack(m.pools, j, sumTerms(termsOf(m.scales[j]!)), opts.poolFactor ?? 1);
    total = total === null ? g : total.map((v, i) => v + g[i]!);
  }
  return total!;
}

/** Wang's general form over one scale. */
export function wangParts(x: Tensor, y: Tensor, options: VariantOptions): MapParts {
  const config = resolveOptions(options);
  const fx = toField(x, 'x');
  const shape = fx.shape as Shape4;
  const P = shape[0] * shape[1];
  const w = new Float64Array(P).fill(config.reduction === 'mean' ? 1 / P : 1);
  return mapParts(fx.data, toField(y, 'y').data, shape, config, wangMap(options.alpha ?? 1, options.beta ?? 1, options.gamma ?? 1), w);
}

/** The L1 term's gradient of the 3DGS loss: +-(1 - lambda)/N sign(x - y). */
export function l1Gradient(x: Tensor, y: Tensor, lambda: number, side: Side, divideByN = true): Float64Array {
  const fx = toField(x, 'x').data;
  const fy = toField(y, 'y').data;
  const k = ((1 - lambda) / (divideByN ? fx.length : 1)) * (side === 'x' ? 1 : -1);
  return fx.map((v, i) => k * Math.sign(v - fy[i]!));
}


/**
 * The variants (src/ssim/variants.ts) taken apart for the checker and the tracer: every piece of
 * their exact gradients in float64 (the chain-rule factor and SSIM's terms for dssim and the 3DGS
 * loss, with the L1 term; each MS-SSIM scale's partial maps, terms and plane weights
 * d value/d mean; Wang's map partials), and the same gradients in emulated float32 arithmetic
 * for the rounding floor.
 *
 * The float32 emulation of ms-ssim and wang runs the whole variant the way a float32 kernel
 * would: inputs, taps and constants rounded to float32, Math.fround after every multiply and add
 * of the separable window and the 2 x 2 pooling (and of their transposes), the pointwise map and
 * its partials emitted by src/emit/pointwise.ts in its 'f32' arithmetic (Math.fround after every
 * operation), the region means, the relu/power/product of MS-SSIM and its product rule, and the
 * backward pass across the scales, all rounded after every operation.
 */
import { evaluateVec, type Node } from '../expr/index.js';
import { axisOp, crop, InputError, sizeOf, toField, type AxisOp, type LinearOp, type Shape4, type Tensor, avgPool2x2 } from '../field/index.js';
import { evaluateVariant, MSSSIM_WEIGHTS, resolveOptions, ssimGradXFloat32Arith, type GradientTerms, type SsimConfig, type Variant, type VariantOptions } from '../ssim/index.js';
import { compilePointwise, csMap, ssimMap, wangMap, type MapGraph } from '../ssim/maps.js';
import { windowAndRegion } from '../ssim/reference.js';
import { windowAxes } from './axes.js';
import { variantName } from '../variants/registry.js';

export type Side = 'x' | 'y';
type Partials = { mu: Float64Array; sq: Float64Array; cross: Float64Array };

/** The variant named by the options ('ssim' when none). */
export const variantOf = (o: VariantOptions): Variant => variantName(o.variant);

/** The SSIM options without the variant's own (what evaluateSsim and a plain-SSIM trace take). */
export function plainOptions(o: VariantOptions): VariantOptions {
  const { variant: _v, weights: _w, lambda: _l, dssimDivisor: _d, alpha: _a, beta: _b, gamma: _g, ...rest } = o;
  return rest;
}

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

/** The images at every scale and the pooling between them (as src/ssim/variants.ts). */
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

// ---- float32 arithmetic ---------------------------------------------------------------------

const fr = Math.fround;
const f32 = (a: Float64Array): Float64Array => a.map(fr);

/** applyAxis with float32 taps and Math.fround after every multiply and add. */
function axis32(op: AxisOp, src: Float64Array, outer: number, inner: number, transpose: boolean): Float64Array {
  const k = op.taps.length;
  const taps = f32(op.taps);
  const { index, inLength, outLength } = op;
  const dst = new Float64Array(outer * (transpose ? inLength : outLength) * inner);
  for (let o = 0; o < outer; o++) {
    const sBase = o * (transpose ? outLength : inLength) * inner;
    const dBase = o * (transpose ? inLength : outLength) * inner;
    for (let i = 0; i < outLength; i++) {
      for (let t = 0; t < k; t++) {
        const j = index[i * k + t]!;
        if (j < 0) continue;
        const w = taps[t]!;
        const s = sBase + (transpose ? i : j) * inner;
        const d = dBase + (transpose ? j : i) * inner;
        for (let q = 0; q < inner; q++) dst[d + q] = fr(dst[d + q]! + fr(w * src[s + q]!));
      }
    }
  }
  return dst;
}

interface Op32 { apply(v: Float64Array): Float64Array; transpose(v: Float64Array): Float64Array; outShape: Shape4 }
function separable32(shape: Shape4, rows: AxisOp, cols: AxisOp): Op32 {
  const [N, C, , W] = shape;
  return {
    outShape: [N, C, rows.outLength, cols.outLength],
    apply: (v) => axis32(cols, axis32(rows, v, N * C, W, false), N * C * rows.outLength, 1, false),
    transpose: (v) => axis32(rows, axis32(cols, v, N * C * rows.outLength, 1, true), N * C, W, true),
  };
}

/** The 2 x 2 pooling's axes, as src/field/linear.ts's avgPool2x2 builds them. */
function pool32(shape: Shape4, mode: 'zero' | 'symmetric'): Op32 {
  const axis = (n: number): AxisOp => {
    const pad = n % 2;
    if (mode === 'zero') return axisOp(n, { taps: [0.5, 0.5], origin: pad, stride: 2, boundary: 'same', outLength: Math.floor((n + 2 * pad - 2) / 2) + 1 });
    return axisOp(n, { taps: [0.5, 0.5], origin: 0, stride: 2, boundary: 'reflect', outLength: (n + pad) / 2 });
  };
  return separable32(shape, axis(shape[2]), axis(shape[3]));
}

const mul32 = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, i) => fr(v * b[i]!));

/** One scale in float32 arithmetic: plane means, and (with plane weights) the gradients wrt x and y. */
function mapParts32(x: Float64Array, y: Float64Array, shape: Shape4, config: SsimConfig, map: MapGraph, planeWeights: Float64Array | null) {
  const [N, C] = shape;
  const { rows, cols } = windowAxes(config, shape);
  const W = separable32(shape, rows, cols);
  const [, , MH, MW] = W.outShape;
  const n = N * C * MH * MW;
  const inputs = [W.apply(x), W.apply(y), W.apply(mul32(x, x)), W.apply(mul32(y, y)), W.apply(mul32(x, y)),
    new Float64Array(n).fill(fr(config.C1)), new Float64Array(n).fill(fr(config.C2)), new Float64Array(n).fill(fr(config.covNorm))];
  const nodes = planeWeights === null ? [map.F] : [map.F, map.dX.mu, map.dX.sq, map.dX.cross, map.dY.mu, map.dY.sq];
  const out = nodes.map(() => new Float64Array(n));
  compilePointwise(nodes, 'f32')(inputs, out, n);
  const c = config.crop;
  const perPlane = (MH - 2 * c) * (MW - 2 * c);
  const inRegion = (q: number): boolean => {
    const i = Math.floor(q / MW) % MH;
    const j = q % MW;
    return i >= c && i < MH - c && j >= c && j < MW - c;
  };
  const means = new Float64Array(N * C);
  const sums = new Float64Array(N * C);
  for (let q = 0; q < n; q++) if (inRegion(q)) { const p = Math.floor(q / (MH * MW)); sums[p] = fr(sums[p]! + out[0]![q]!); }
  for (let p = 0; p < N * C; p++) means[p] = fr(sums[p]! / perPlane);
  if (planeWeights === null) return { means, gradX: null, gradY: null };
  const omega = new Float64Array(n);
  for (let q = 0; q < n; q++) if (inRegion(q)) omega[q] = fr(fr(planeWeights[Math.floor(q / (MH * MW))]!) / perPlane);
  const [, gmx, gxx, gxy, gmy, gyy] = out.map((o) => mul32(omega, o));
  const grad = (self: Float64Array, other: Float64Array, gm: Float64Array, gs: Float64Array) => {
    const a = W.transpose(gm), b = W.transpose(gs), cr = W.transpose(gxy!);
    return self.map((v, i) => fr(fr(a[i]! + fr(fr(2 * v) * b[i]!)) + fr(other[i]! * cr[i]!)));
  };
  return { means, gradX: grad(x, y, gmx!, gxx!), gradY: grad(y, x, gmy!, gyy!) };
}

/** MS-SSIM's gradients in float32 arithmetic. */
function msGradient32(x: Tensor, y: Tensor, options: VariantOptions): { gradX: Float64Array; gradY: Float64Array } {
  const { config, weights, xs: xs64, ys: ys64, shapes, pooling } = msPyramid(x, y, options);
  const J = weights.length;
  const xs = [f32(xs64[0]!)];
  const ys = [f32(ys64[0]!)];
  const pools: Op32[] = [];
  for (let j = 1; j < J; j++) {
    const pool = pool32(shapes[j - 1]!, pooling);
    pools.push(pool);
    xs.push(pool.apply(xs[j - 1]!));
    ys.push(pool.apply(ys[j - 1]!));
  }
  const maps = msMaps(J);
  const means = xs.map((xj, j) => mapParts32(xj, ys[j]!, shapes[j]!, config, maps[j]!, null).means);
  const P = means[0]!.length;
  const w32 = weights.map(fr);
  const dMeans = means.map(() => new Float64Array(P));
  for (let p = 0; p < P; p++) {
    const v = means.map((m) => Math.max(m[p]!, 0));
    const powers = v.map((vj, j) => fr(vj ** w32[j]!));
    for (let j = 0; j < J; j++) {
      if (v[j]! <= 0) continue;
      const others = powers.reduce((a, b, i) => (i === j ? a : fr(a * b)), 1);
      dMeans[j]![p] = fr(fr(fr(others * w32[j]!) * fr(v[j]! ** fr(w32[j]! - 1))) / P);
    }
  }
  let gx: Float64Array | null = null;
  let gy: Float64Array | null = null;
  for (let j = J - 1; j >= 0; j--) {
    const g = mapParts32(xs[j]!, ys[j]!, shapes[j]!, config, maps[j]!, dMeans[j]!);
    const upX: Float64Array | null = gx === null ? null : pools[j]!.transpose(gx);
    const upY: Float64Array | null = gy === null ? null : pools[j]!.transpose(gy);
    gx = upX === null ? g.gradX! : g.gradX!.map((v, i) => fr(v + upX[i]!));
    gy = upY === null ? g.gradY! : g.gradY!.map((v, i) => fr(v + upY[i]!));
  }
  return { gradX: gx!, gradY: gy! };
}

/** Wang's gradients in float32 arithmetic. */
function wangGradient32(x: Tensor, y: Tensor, options: VariantOptions): { gradX: Float64Array; gradY: Float64Array } {
  const config = resolveOptions(options);
  const fx = toField(x, 'x');
  const shape = fx.shape as Shape4;
  const P = shape[0] * shape[1];
  const w = new Float64Array(P).fill(config.reduction === 'mean' ? fr(1 / P) : 1);
  const map = wangMap(options.alpha ?? 1, options.beta ?? 1, options.gamma ?? 1);
  const r = mapParts32(f32(fx.data), f32(toField(y, 'y').data), shape, config, map, w);
  return { gradX: r.gradX!, gradY: r.gradY! };
}

/**
 * The variant's gradient (wrt `side`) as a float32 implementation computes it (see the module
 * comment): dssim and the 3DGS loss from SSIM's float32-arithmetic gradient through their chain
 * rule in float32, the L1 term's sign(x - y) (1 - lambda)/N rounded the same way.
 */
export function variantGradient32(x: Tensor, y: Tensor, options: VariantOptions, side: Side): Float64Array {
  const variant = variantOf(options);
  if (variant === 'ms-ssim') return msGradient32(x, y, options)[side === 'x' ? 'gradX' : 'gradY'];
  if (variant === 'wang') return wangGradient32(x, y, options)[side === 'x' ? 'gradX' : 'gradY'];
  // d/dx alone (the same values, half the kernel's work and no float64 copy of d/dy)
  // one gradient only: S is symmetric, so d/dy S(x, y) is d/dx S(y, x)
  const g: ArrayLike<number> = (side === 'x' ? ssimGradXFloat32Arith(x, y, plainOptions(options)) : ssimGradXFloat32Arith(y, x, plainOptions(options))).gradX;
  if (variant === 'dssim') {
    const d = fr(options.dssimDivisor ?? 2);
    return Float64Array.from(g, (v) => fr(-v / d));
  }
  if (variant === '3dgs-loss') {
    const lam = fr(options.lambda ?? 0.2);
    // the values as stored (no float64 copy of two whole images)
    const fx = x.data;
    const fy = y.data;
    const k = fr(fr(1 - lam) / fx.length);
    const sgn = side === 'x' ? 1 : -1;
    return Float64Array.from(g, (v, i) => fr(fr(sgn * k * Math.sign(fr(fr(fx[i]!) - fr(fy[i]!)))) - fr(lam * v)));
  }
  throw new Error(`variantGradient32: ${variant}`);
}

// ---- the float64 pieces, per variant ------------------------------------------------------------

/** Everything the checker needs about a variant's exact gradient wrt one image. */
export interface VariantPieces {
  readonly variant: Variant;
  /** The options with the variant's own. */
  readonly options: VariantOptions;
  readonly value: number;
  readonly exact: Float64Array;
  /** The three chain-rule terms of the exact gradient on the input grid (summed over scales for ms-ssim). */
  readonly terms: GradientTerms;
  /** The part of the exact gradient outside the three terms (the 3DGS loss's L1 term), or null. */
  readonly offset: Float64Array | null;
  /** dssim, 3dgs-loss: d value / d ssim. */
  readonly factor: number | null;
  readonly ms: MsModel | null;
  readonly wang: MapParts | null;
}

const scaleTerms = (t: GradientTerms, k: number): GradientTerms => ({ mean: t.mean.map((v) => k * v), square: t.square.map((v) => k * v), cross: t.cross.map((v) => k * v) });

/** The L1 term's gradient of the 3DGS loss: +-(1 - lambda)/N sign(x - y). */
export function l1Gradient(x: Tensor, y: Tensor, lambda: number, side: Side, divideByN = true): Float64Array {
  const fx = toField(x, 'x').data;
  const fy = toField(y, 'y').data;
  const k = ((1 - lambda) / (divideByN ? fx.length : 1)) * (side === 'x' ? 1 : -1);
  return fx.map((v, i) => k * Math.sign(v - fy[i]!));
}

/**
 * The variant's value and exact gradient (evaluateVariant), with its terms. `ssimTerms` gives
 * SSIM's own terms on the input grid (the checker has them from evaluateSsim).
 */
export function variantPieces(x: Tensor, y: Tensor, options: VariantOptions, side: Side, ssimTerms: () => GradientTerms): VariantPieces {
  const variant = variantOf(options);
  const r = evaluateVariant(x, y, options); // validates the options (InputError, exit 2)
  const exact = side === 'x' ? r.gradX : r.gradY;
  const base = { variant, options, value: r.value, exact, offset: null, factor: null, ms: null, wang: null };
  if (variant === 'dssim') {
    const factor = -1 / (options.dssimDivisor ?? 2);
    return { ...base, factor, terms: scaleTerms(ssimTerms(), factor) };
  }
  if (variant === '3dgs-loss') {
    const lambda = options.lambda ?? 0.2;
    return { ...base, factor: -lambda, terms: scaleTerms(ssimTerms(), -lambda), offset: l1Gradient(x, y, lambda, side) };
  }
  if (variant === 'wang') {
    const wang = wangParts(x, y, options);
    return { ...base, wang, terms: wang.terms[side] };
  }
  if (variant === 'ms-ssim') {
    const ms = msModel(x, y, options);
    const back = (k: 'mean' | 'square' | 'cross') => {
      let t: Float64Array | null = null;
      ms.scales.forEach((s, j) => {
        const g = pullBack(ms.pools, j, s.terms[side][k]);
        t = t === null ? g : (t as Float64Array).map((v, i) => v + g[i]!);
      });
      return t! as Float64Array;
    };
    return { ...base, ms, terms: { mean: back('mean'), square: back('square'), cross: back('cross') } };
  }
  throw new InputError(`variant: ${variant} has no pieces`);
}

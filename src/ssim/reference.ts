/**
 * SSIM over whole images and its exact gradient, in float64: the reference every kernel,
 * document and checker verdict is tested against. The pointwise part comes from the expression
 * graph (pointwise.ts), the spatial part from the field operators; reverse mode composes them:
 *
 *   d loss / dx = D^T [ W^T g_mu + 2 x (W^T g_xx) + y (W^T g_xy) ]
 *
 * with g_* = omega * dS/d(moment), omega the reduction weights on the region the loss averages
 * (R^T of the mean's transpose), W the windowed mean and D the optional downsampling.
 */
import { evaluateVec } from '../expr/index.js';
import {
  boxDownsample, crop, identity, InputError, shape4, sizeOf, toField, windowMean,
  type LinearOp, type Shape4, type Tensor,
} from '../field/index.js';
import { downsampleFactor, mapGeometry, resolveOptions, type SsimConfig, type SsimOptions } from './options.js';
import { pointwiseSsim } from './pointwise.js';

/** The three chain-rule terms of the gradient with respect to one image (before D^T). */
export interface GradientTerms {
  /** W^T g_mu */
  readonly mean: Float64Array;
  /** 2 x (W^T g_xx) (2 y (W^T g_yy) for y) */
  readonly square: Float64Array;
  /** y (W^T g_xy) (x (W^T g_xy) for y) */
  readonly cross: Float64Array;
}

/** Everything the reference computes, for the checker and the tracer. */
export interface SsimEvaluation {
  readonly config: SsimConfig;
  /** Input shape (NCHW) and the shape after downsampling. */
  readonly shape: Shape4;
  readonly workShape: Shape4;
  readonly downsample: LinearOp;
  readonly window: LinearOp;
  /** The region of the SSIM map that the loss averages, as a crop of the map. */
  readonly region: LinearOp;
  readonly ssim: number;
  /** The SSIM map (window-output shape). */
  readonly map: Float64Array;
  /** Reduction weights omega over the map (zero outside the region). */
  readonly weights: Float64Array;
  /** omega * dS/d(mu_x, m_xx, m_xy) and omega * dS/d(mu_y, m_yy, m_xy), over the map. */
  readonly partialsX: { mu: Float64Array; sq: Float64Array; cross: Float64Array };
  readonly partialsY: { mu: Float64Array; sq: Float64Array; cross: Float64Array };
  /** The images after downsampling. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly termsX: GradientTerms;
  readonly termsY: GradientTerms;
  readonly gradX: Float64Array;
  readonly gradY: Float64Array;
}

const times = (a: Float64Array, b: Float64Array, c = 1): Float64Array => a.map((v, i) => c * v * b[i]!);

/**
 * The windowed mean and the averaged region for images of shape `ws` (after downsampling by f),
 * with the checks that the image fits the window and the crop.
 */
export function windowAndRegion(ws: Shape4, config: SsimConfig, f = 1): { window: LinearOp; region: LinearOp } {
  mapGeometry(config, ws[2], ws[3], f);
  const window = windowMean(ws, config.taps, config.padding, { skipShortAxes: config.skipShortAxes });
  const c = config.crop;
  return { window, region: crop(window.outShape, c, c, c, c) };
}

/** Checks that the two images can be compared under the configuration; returns their fields. */
function prepare(x: Tensor, y: Tensor, config: SsimConfig) {
  const sx = shape4(x, 'x');
  const sy = shape4(y, 'y');
  if (sx.join() !== sy.join()) throw new InputError(`y: shape [${y.shape}] differs from x's shape [${x.shape}]`);
  const fx = toField(x, 'x');
  const fy = toField(y, 'y');
  const [N, C, H, W] = sx;
  const f = downsampleFactor(config, H, W);
  const downsample = f > 1 ? boxDownsample(sx, f) : identity(sx);
  const { window, region } = windowAndRegion(downsample.outShape, config, f);
  return { shape: sx, fx, fy, downsample, window, region, N, C };
}

/** The images (after downsampling), the window moments as the graph's inputs, and the reduction weights omega. */
function momentsOf(x: Tensor, y: Tensor, config: SsimConfig) {
  const prepared = prepare(x, y, config);
  const { fx, fy, downsample, window, region, N, C } = prepared;
  const xs = downsample.apply(fx.data);
  const ys = downsample.apply(fy.data);
  const Wop = (v: Float64Array): Float64Array => window.apply(v);
  const n = sizeOf(window.outShape);
  const env = {
    mu_x: Wop(xs),
    mu_y: Wop(ys),
    m_xx: Wop(times(xs, xs)),
    m_yy: Wop(times(ys, ys)),
    m_xy: Wop(times(xs, ys)),
    C1: new Float64Array(n).fill(config.C1),
    C2: new Float64Array(n).fill(config.C2),
    c_n: new Float64Array(n).fill(config.covNorm),
  };
  // omega: 1/count on the region for 'mean'; 1/(region pixels per plane) for 'sum'
  const [, , rh, rw] = region.outShape;
  const perPlane = config.reduction === 'mean' ? 1 / (N * C * rh * rw) : 1 / (rh * rw);
  const weights = region.transpose(new Float64Array(sizeOf(region.outShape)).fill(perPlane));
  return { ...prepared, xs, ys, env, n, weights };
}

/** Evaluates SSIM and its exact gradient with respect to both images. */
export function evaluateSsim(x: Tensor, y: Tensor, options: SsimOptions = {}): SsimEvaluation {
  const config = resolveOptions(options);
  const { shape, downsample, window, region, xs, ys, env, n, weights } = momentsOf(x, y, config);
  const p = pointwiseSsim();
  const [S, gmx, gxx, gxy, gmy, gyy] = evaluateVec(
    [p.S, p.partialsX.mu, p.partialsX.sq, p.partialsX.cross, p.partialsY.mu, p.partialsY.sq],
    env,
    n,
  ) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];

  let ssim = 0;
  for (let i = 0; i < n; i++) ssim += weights[i]! * S[i]!;

  const partialsX = { mu: times(weights, gmx), sq: times(weights, gxx), cross: times(weights, gxy) };
  const partialsY = { mu: times(weights, gmy), sq: times(weights, gyy), cross: partialsX.cross };
  const WT = (v: Float64Array): Float64Array => window.transpose(v);
  const crossT = WT(partialsX.cross);
  const termsX: GradientTerms = { mean: WT(partialsX.mu), square: times(xs, WT(partialsX.sq), 2), cross: times(ys, crossT) };
  const termsY: GradientTerms = { mean: WT(partialsY.mu), square: times(ys, WT(partialsY.sq), 2), cross: times(xs, crossT) };
  const sum3 = (t: GradientTerms): Float64Array => t.mean.map((v, i) => v + t.square[i]! + t.cross[i]!);
  return {
    config,
    shape,
    workShape: downsample.outShape,
    downsample,
    window,
    region,
    ssim,
    map: S,
    weights,
    partialsX,
    partialsY,
    x: xs,
    y: ys,
    termsX,
    termsY,
    gradX: downsample.transpose(sum3(termsX)),
    gradY: downsample.transpose(sum3(termsY)),
  };
}

/** The SSIM value (float64 reference). */
export function ssimReference(x: Tensor, y: Tensor, options: SsimOptions = {}): number {
  // S alone: the partials and the transposes are the gradient's work
  const { env, n, weights } = momentsOf(x, y, resolveOptions(options));
  const [S] = evaluateVec([pointwiseSsim().S], env, n) as [Float64Array];
  let ssim = 0;
  for (let i = 0; i < n; i++) ssim += weights[i]! * S[i]!;
  return ssim;
}

/** SSIM and its exact gradients with respect to x and y, each with x's shape (float64 reference). */
export function ssimGradReference(x: Tensor, y: Tensor, options: SsimOptions = {}): { ssim: number; gradX: Tensor; gradY: Tensor } {
  const e = evaluateSsim(x, y, options);
  return { ssim: e.ssim, gradX: { shape: [...x.shape], data: e.gradX }, gradY: { shape: [...y.shape], data: e.gradY } };
}

/**
 * A map-grid field placed on the (downsampled) image grid: the same grid under the same-size
 * rules; under 'valid' the map pixel of the window centred at each image pixel, zeros where no
 * window is centred (the transpose of cropping the image to the map).
 */
export function onImageGrid(e: SsimEvaluation, map: Float64Array): Float64Array {
  const [, , H, W] = e.workShape;
  const [, , MH, MW] = e.window.outShape;
  if (MH === H && MW === W) return map;
  const oh = (H - MH) / 2;
  const ow = (W - MW) / 2;
  return crop(e.workShape, oh, oh, ow, ow).transpose(map);
}

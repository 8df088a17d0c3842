/**
 * SSIM over whole images and its exact gradient, in float64: the reference every kernel,
 * document and checker verdict is tested against. It is SSIM's field graph (src/graph/ssim.ts)
 * evaluated node by node by the one reverse mode (src/graph/evaluate.ts), and read back as the
 * pieces a reader of the derivation knows:
 *
 *   d loss / dx = D^T [ W^T g_mu + 2 x (W^T g_xx) + y (W^T g_xy) ]
 *
 * g_* = omega * dS/d(moment) are the contributions of the map S to the moments, omega the
 * adjoint reaching S (the reduction weights on the region, zero outside it), and the three terms
 * are the contributions reaching x through mu_x = W x, m_xx = W (x x) and m_xy = W (x y). Nothing
 * here applies the chain rule itself.
 */
import {
  crop, identity, InputError, shape4, toField, windowMean,
  type LinearOp, type Shape4, type Tensor,
} from '../field/index.js';
import { evaluateGraph, type Contribution } from '../graph/evaluate.js';
import type { FieldNode } from '../graph/node.js';
import { imageInputs, windowedMap } from '../graph/ssim.js';
import { ssimMap } from '../model/maps.js';
import { mapGeometry, resolveOptions, type SsimConfig, type SsimOptions } from '../model/options.js';
import { requireFinite } from '../model/finite.js';

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

/** SSIM's graph for two images of one shape: the inputs, the downsampled images, the block and its fine parts. */
function ssimGraph(x: Tensor, y: Tensor, config: SsimConfig) {
  const sx = shape4(x, 'x');
  const sy = shape4(y, 'y');
  if (sx.join() !== sy.join()) throw new InputError(`y: shape [${y.shape}] differs from x's shape [${x.shape}]`);
  const img = imageInputs(sx, config);
  const block = windowedMap(img.xs, img.ys, config, {}, { graph: ssimMap(), kernels: null }, 'loss', img.f);
  const inputs = { x: toField(x, 'x').data, y: toField(y, 'y').data };
  return { shape: sx, img, block, inputs };
}

/** What reached `to` from `from` in a recorded evaluation (zeros where nothing did). */
function contribution(cs: readonly Contribution[], from: FieldNode, to: FieldNode, size: number): Float64Array {
  const c = cs.find((k) => k.from.id === from.id && k.to.id === to.id);
  return c?.value ?? new Float64Array(size);
}

type Moment = 'mu_x' | 'mu_y' | 'm_xx' | 'm_yy' | 'm_xy';

/** Evaluates SSIM and its exact gradient with respect to both images. */
export function evaluateSsim(x: Tensor, y: Tensor, options: SsimOptions = {}): SsimEvaluation {
  const config = resolveOptions(options);
  const { shape, img, block, inputs } = ssimGraph(x, y, config);
  const r = evaluateGraph(block, inputs, { wrt: ['x', 'y'], fused: false, record: true });
  const p = block.parts as Readonly<Record<Moment | 'map' | 'region', FieldNode>>;
  const cs = r.contributions;
  const mapSize = r.values.get(p.map.id)!.length;
  // g_*: what the map hands each moment
  const g = (m: Moment): Float64Array => contribution(cs, p.map, p[m], mapSize);
  // a moment's argument: the image itself (mu) or the product map (m_xx, m_xy) under the window
  const argOf = (m: FieldNode): FieldNode => (m.kind === 'linear' ? m.arg : m);
  const xs = r.values.get(img.xs.id)!;
  const ys = r.values.get(img.ys.id)!;
  const n = xs.length;
  const terms = (self: FieldNode, mu: Moment, sq: Moment): GradientTerms => ({
    mean: contribution(cs, p[mu], self, n),
    square: contribution(cs, argOf(p[sq]), self, n),
    cross: contribution(cs, argOf(p.m_xy), self, n),
  });
  const mu = p.mu_x;
  if (mu.kind !== 'linear') throw new Error('evaluateSsim: mu_x is not a window node');
  const window = mu.op;
  const region = p.region.kind === 'linear' ? p.region.op : crop(window.outShape, 0, 0, 0, 0);
  const downsample = img.xs.kind === 'linear' ? img.xs.op : identity(shape);
  const cross = g('m_xy');
  return {
    config,
    shape,
    workShape: downsample.outShape,
    downsample,
    window,
    region,
    ssim: r.value[0]!,
    map: r.values.get(p.map.id)!,
    weights: r.adjoints.get(p.map.id) ?? new Float64Array(mapSize),
    partialsX: { mu: g('mu_x'), sq: g('m_xx'), cross },
    partialsY: { mu: g('mu_y'), sq: g('m_yy'), cross },
    x: xs,
    y: ys,
    termsX: terms(img.xs, 'mu_x', 'm_xx'),
    termsY: terms(img.ys, 'mu_y', 'm_yy'),
    gradX: r.grads.x!,
    gradY: r.grads.y!,
  };
}

/** The SSIM value (float64 reference). */
export function ssimReference(x: Tensor, y: Tensor, options: SsimOptions = {}): number {
  const config = resolveOptions(options);
  const { block, inputs } = ssimGraph(x, y, config);
  return requireFinite(evaluateGraph(block, inputs, { fused: false }).value[0]!, config, x, y);
}

/** SSIM and its exact gradients with respect to x and y, each with x's shape (float64 reference). */
export function ssimGradReference(x: Tensor, y: Tensor, options: SsimOptions = {}): { ssim: number; gradX: Tensor; gradY: Tensor } {
  const e = evaluateSsim(x, y, options);
  requireFinite(e.ssim, e.config, x, y, [['d ssim/dx', e.gradX], ['d ssim/dy', e.gradY]]);
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

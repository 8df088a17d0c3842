/**
 * The builders a variant's loss is written with. They come with the context (not imported), so a
 * user's variant file builds nodes in the same graph as ssim-grad whichever copy of the package
 * it imports its types from.
 */
import * as expr from '../expr/build.js';
import type { Node } from '../expr/index.js';
import { binary, linear, map, reduce } from '../graph/build.js';
import type { FieldNode } from '../graph/node.js';
import { ssimMapField, windowedMap, type WindowedMapSpec } from '../graph/ssim.js';
import { csMap, ssimMap, type MapGraph } from '../model/maps.js';
import type { SsimConfig, SsimOptions } from '../model/options.js';

/** The scalar graph's constructors, for pointwise maps. */
export const scalar = {
  add: expr.add, sub: expr.sub, mul: expr.mul, div: expr.div, neg: expr.neg, pow: expr.pow, powv: expr.powv, sqrt: expr.sqrt,
  square: expr.square, abs: expr.abs, sign: expr.sign, relu: expr.relu, step: expr.step, max: expr.max, min: expr.min,
  exp: expr.exp, log: expr.log, num: expr.num, variable: expr.variable,
} as const;

/** The builders a variant's loss is written with (ctx.g): SSIM's blocks and maps, windows, pooling, crops, maps and reductions. */
export interface GraphKit {
  /** The scalar graph's constructors (add, mul, pow, relu, ...), for `map`. */
  readonly e: typeof scalar;
  /** SSIM of two fields, reduced as the options say: a scalar (runs on the generated kernels). */
  ssim(x: FieldNode, y: FieldNode): FieldNode;
  /** The mean of S over each plane's region: N x C x 1 x 1. */
  ssimPlanes(x: FieldNode, y: FieldNode): FieldNode;
  /** The mean of cs = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2) over each plane's region. */
  csPlanes(x: FieldNode, y: FieldNode): FieldNode;
  /** The SSIM map itself at every window position (uncropped; the image's grid under same-size boundaries). */
  ssimMap(x: FieldNode, y: FieldNode): FieldNode;
  /** Any map of the window moments, windowed and reduced ('loss': as the options say; 'planes': per plane). */
  windowed(x: FieldNode, y: FieldNode, spec: WindowedMapSpec, reduce: 'loss' | 'planes'): FieldNode;
  /** The maps S and cs as scalar graphs, for `windowed`. */
  readonly maps: { readonly S: () => MapGraph; readonly cs: () => MapGraph };
  /** The windowed mean W under the options' window and boundary. */
  window(a: FieldNode): FieldNode;
  /** 2 x 2 average pooling, stride 2: odd sizes padded with a zero in front ('zero', pytorch-msssim) or the last row repeated ('symmetric', TensorFlow). */
  pool(a: FieldNode, mode: 'zero' | 'symmetric'): FieldNode;
  /** Crops c pixels from each side. */
  crop(a: FieldNode, c: number): FieldNode;
  /** A matrix across channels at each pixel (rows: output channels). */
  channels(a: FieldNode, matrix: readonly (readonly number[])[]): FieldNode;
  /**
   * A pointwise map: f builds the value from one scalar variable per argument field (fields
   * broadcast where a dimension is 1); `partials` may give d f / d arg where the symbolic one will not do.
   */
  map(f: (v: Readonly<Record<string, Node>>) => Node, args: Readonly<Record<string, FieldNode>>, opts?: { partials?: (v: Readonly<Record<string, Node>>) => Readonly<Record<string, Node>>; label?: string }): FieldNode;
  add(a: FieldNode, b: FieldNode): FieldNode;
  sub(a: FieldNode, b: FieldNode): FieldNode;
  mul(a: FieldNode, b: FieldNode): FieldNode;
  div(a: FieldNode, b: FieldNode): FieldNode;
  /** k a + c. */
  affine(a: FieldNode, k: number, c?: number): FieldNode;
  mean(a: FieldNode): FieldNode;
  sum(a: FieldNode): FieldNode;
  planeMean(a: FieldNode): FieldNode;
  planeSum(a: FieldNode): FieldNode;
}

/** The kit for one evaluation's configuration. */
export function graphKit(config: SsimConfig, options: SsimOptions, f = 1): GraphKit {
  const S: WindowedMapSpec = { graph: ssimMap(), kernels: 'ssim' };
  const cs: WindowedMapSpec = { graph: csMap(), kernels: 'cs' };
  const kit: GraphKit = {
    e: scalar,
    ssim: (x, y) => windowedMap(x, y, config, options, S, 'loss', f),
    ssimPlanes: (x, y) => windowedMap(x, y, config, options, S, 'planes', f),
    csPlanes: (x, y) => windowedMap(x, y, config, options, cs, 'planes', f),
    ssimMap: (x, y) => ssimMapField(x, y, config, ssimMap(), f),
    windowed: (x, y, spec, r) => windowedMap(x, y, config, options, spec, r, f),
    maps: { S: ssimMap, cs: csMap },
    window: (a) => linear({ kind: 'window', taps: config.taps, boundary: config.padding, skipShortAxes: config.skipShortAxes }, a, 'W'),
    pool: (a, mode) => linear({ kind: 'pool', mode }, a, 'pool'),
    crop: (a, c) => linear({ kind: 'crop', top: c, bottom: c, left: c, right: c }, a, 'crop'),
    channels: (a, matrix) => linear({ kind: 'channels', matrix }, a, 'channels'),
    map: (fn, args, opts = {}) => {
      const vars = Object.fromEntries(Object.keys(args).map((k) => [k, expr.variable(k)]));
      return map(fn(vars), args, { partials: opts.partials?.(vars), label: opts.label });
    },
    add: (a, b) => binary(expr.add, a, b, 'add'),
    sub: (a, b) => binary(expr.sub, a, b, 'sub'),
    mul: (a, b) => binary(expr.mul, a, b, 'mul'),
    div: (a, b) => binary(expr.div, a, b, 'div'),
    affine: (a, k, c = 0) => map(expr.add(expr.mul(k, expr.variable('a')), c), { a }, { label: 'affine' }),
    mean: (a) => reduce('mean', a),
    sum: (a) => reduce('sum', a),
    planeMean: (a) => reduce('planeMean', a),
    planeSum: (a) => reduce('planeSum', a),
  };
  return kit;
}

/**
 * SSIM in the field graph. The window moments are linear images of pointwise products,
 *
 *   mu_x = W x,  mu_y = W y,  m_xx = W (x x),  m_yy = W (y y),  m_xy = W (x y),
 *
 * a map F of the moments (S, cs, Wang's form: src/model/maps.ts) is taken at every window, the
 * region R is cropped and reduced. `windowedMap` builds that as a block (runs on the generated
 * kernels of F where it has some); `ssimMapField` gives the map itself for a loss that weighs it.
 */
import type { Node } from '../expr/index.js';
import { momentProducts } from '../model/pointwise.js';
import { mapGeometry, downsampleFactor, type SsimConfig, type SsimOptions } from '../model/options.js';
import type { MapGraph } from '../model/maps.js';
import { input, linear, map, reduce } from './build.js';
import { newId, type BlockNode, type FieldNode } from './node.js';
import type { Shape4 } from '../field/index.js';

/** A map to window: its graph, and the name of its generated kernels with their runtime parameters. */
export interface WindowedMapSpec {
  readonly graph: MapGraph;
  readonly kernels: string | null;
  readonly kernelParams?: Readonly<Record<string, number>>;
}

/** The map's partials by moment name. */
export const mapPartials = (g: MapGraph): Record<string, Node> => ({
  mu_x: g.dX.mu, m_xx: g.dX.sq, m_xy: g.dX.cross, mu_y: g.dY.mu, m_yy: g.dY.sq,
});

/** The five moments of x and y under the config's window (fine graph), checking the images fit it. */
export function moments(x: FieldNode, y: FieldNode, config: SsimConfig, f = 1): Record<'mu_x' | 'mu_y' | 'm_xx' | 'm_yy' | 'm_xy', FieldNode> {
  mapGeometry(config, x.shape[2], x.shape[3], f);
  const W = { kind: 'window', taps: config.taps, boundary: config.padding, skipShortAxes: config.skipShortAxes } as const;
  const { x: vx, y: vy, products } = momentProducts();
  const field = (name: keyof typeof products): FieldNode => {
    const e = products[name];
    // x and y themselves are windowed as they are; the products are maps of them
    const arg = e === vx ? x : e === vy ? y : map(e, name === 'm_xx' ? { x } : name === 'm_yy' ? { y } : { x, y }, { label: name.replace('m_', '') });
    return linear(W, arg, name);
  };
  return { mu_x: field('mu_x'), mu_y: field('mu_y'), m_xx: field('m_xx'), m_yy: field('m_yy'), m_xy: field('m_xy') };
}

/** The map F over the window grid (uncropped), its constants from the config. */
export function ssimMapField(x: FieldNode, y: FieldNode, config: SsimConfig, graph: MapGraph, f = 1): FieldNode {
  const m = moments(x, y, config, f);
  return map(graph.F, m, { consts: { C1: config.C1, C2: config.C2, c_n: config.covNorm }, partials: mapPartials(graph), label: graph.name });
}

/**
 * F windowed over x and y, cropped to the region and reduced: 'loss' as the config's reduction
 * says (a scalar), 'planes' to each plane's mean (N x C x 1 x 1). `options` are the SSIM options
 * the kernels are planned from (without downsampling: a downsampling node comes before the block).
 */
export function windowedMap(x: FieldNode, y: FieldNode, config: SsimConfig, options: SsimOptions, spec: WindowedMapSpec, reduceTo: 'loss' | 'planes', f = 1): BlockNode {
  if (x.shape.join() !== y.shape.join()) throw new Error(`windowedMap: x [${x.shape}] and y [${y.shape}] differ`);
  const m = moments(x, y, config, f);
  const F = map(spec.graph.F, m, { consts: { C1: config.C1, C2: config.C2, c_n: config.covNorm }, partials: mapPartials(spec.graph), label: spec.graph.name });
  const c = config.crop;
  const region = c > 0 ? linear({ kind: 'crop', top: c, bottom: c, left: c, right: c }, F, 'region') : F;
  const expanded =
    reduceTo === 'planes' ? reduce('planeMean', region) : config.reduction === 'mean' ? reduce('mean', region) : reduce('sum', reduce('planeMean', region));
  return {
    kind: 'block',
    id: newId(),
    shape: expanded.shape,
    label: spec.graph.name,
    x,
    y,
    config,
    options: { ...options, downsample: 1 },
    map: { kernels: spec.kernels, kernelParams: spec.kernelParams ?? {} },
    reduce: reduceTo,
    expanded,
    parts: { ...m, map: F, region },
  };
}

/**
 * The images a loss windows: x and y, downsampled first where the config says so (MATLAB's
 * f x f box and every f-th pixel), with the factor.
 */
export function imageInputs(shape: Shape4, config: SsimConfig): { x: FieldNode; y: FieldNode; xs: FieldNode; ys: FieldNode; f: number } {
  const x = input('x', shape);
  const y = input('y', shape);
  const f = downsampleFactor(config, shape[2], shape[3]);
  if (f === 1) return { x, y, xs: x, ys: y, f };
  const D = { kind: 'downsample', f } as const;
  return { x, y, xs: linear(D, x, 'x_D'), ys: linear(D, y, 'y_D'), f };
}

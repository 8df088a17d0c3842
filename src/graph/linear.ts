/**
 * The linear field operators of the graph, one table: for each kind, how to build the operator
 * for an input shape (its forward and its transpose, src/field), its symbol in the derivation
 * documents and what its transpose does, in words. Reverse mode reads the transpose from here
 * and nowhere else; the dot-product tests (test/graph) prove each pair.
 */
import { avgPool2x2, boxDownsample, channelMix, crop, type Boundary, type LinearOp, type Shape4, windowMean } from '../field/index.js';

export type LinearSpec =
  /** The windowed mean W: separable correlation with the normalised taps under a boundary rule. */
  | { readonly kind: 'window'; readonly taps: Float64Array; readonly boundary: Boundary; readonly skipShortAxes: boolean }
  /** Drops rows and columns at the edges (the region the loss averages); its transpose zero-pads. */
  | { readonly kind: 'crop'; readonly top: number; readonly bottom: number; readonly left: number; readonly right: number }
  /** 2 x 2 average pooling with stride 2 (MS-SSIM between scales). */
  | { readonly kind: 'pool'; readonly mode: 'zero' | 'symmetric' }
  /** An f x f box filter, then every f-th pixel (MATLAB's downsampling). */
  | { readonly kind: 'downsample'; readonly f: number }
  /** A matrix across channels at every pixel (RGB to luma). */
  | { readonly kind: 'channels'; readonly matrix: readonly (readonly number[])[] };

export type LinearKind = LinearSpec['kind'];

interface LinearRule<S extends LinearSpec> {
  /** The operator on fields of `inShape`. */
  op(spec: S, inShape: Shape4): LinearOp;
  /** Its symbol in the documents (W, R, P, D, M). */
  readonly symbol: string;
  /** What the forward does, and what its transpose does, in a sentence each. */
  readonly forward: string;
  readonly transpose: string;
}

type Rules = { readonly [K in LinearKind]: LinearRule<Extract<LinearSpec, { kind: K }>> };

export const LINEAR_RULES: Rules = {
  window: {
    op: (s, shape) => windowMean(shape, s.taps, s.boundary, { skipShortAxes: s.skipShortAxes }),
    symbol: 'W',
    forward: 'correlates each plane with the separable window, reading outside the image by the boundary rule',
    transpose: 'scatters each value back through the same taps and the same index table (padding folds back onto the pixels it copied)',
  },
  crop: {
    op: (s, shape) => crop(shape, s.top, s.bottom, s.left, s.right),
    symbol: 'R',
    forward: 'keeps the region the loss averages',
    transpose: 'puts the region back in place and zeros outside it',
  },
  pool: {
    op: (s, shape) => avgPool2x2(shape, s.mode),
    symbol: 'P',
    forward: 'averages 2 x 2 blocks with stride 2',
    transpose: 'spreads each value over its 2 x 2 block, a quarter to each pixel',
  },
  downsample: {
    op: (s, shape) => boxDownsample(shape, s.f),
    symbol: 'D',
    forward: 'box-filters f x f and keeps every f-th pixel',
    transpose: 'spreads each kept value back over its f x f box',
  },
  channels: {
    op: (s, shape) => channelMix(shape, s.matrix),
    symbol: 'M',
    forward: 'mixes the channels at each pixel by a matrix',
    transpose: 'mixes them back by the transposed matrix',
  },
};

/** The operator of a spec on fields of `shape`. */
export function linearOp(spec: LinearSpec, shape: Shape4): LinearOp {
  const rule = LINEAR_RULES[spec.kind] as LinearRule<LinearSpec>;
  return rule.op(spec, shape);
}

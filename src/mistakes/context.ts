/**
 * What a known mistake is and what it is evaluated in: the context (the images, the exact
 * evaluation, the variant's recorded graph, a strip's or a tile's counts) and a per-context cache,
 * so that the library's rewrites share one forward pass and one taking apart of the graph.
 */
import type { Shape4, Tensor } from '../field/index.js';
import type { AdjointProgram } from '../graph/adjoint.js';
import type { GraphResult } from '../graph/evaluate.js';
import type { FieldNode } from '../graph/node.js';
import type { GradientTerms, SsimEvaluation, SsimOptions, VariantOptions } from '../runtime/index.js';
import type { VariantGraph } from '../variants/evaluate.js';

/** A variant's graph with its recorded float64 evaluation (the checker's VariantPieces carry one). */
export interface RecordedVariant {
  /** The options with the variant's own. */
  readonly options: VariantOptions;
  readonly graph: VariantGraph;
  /** Fine graph (every block expanded), every value recorded. */
  readonly record: GraphResult;
}

/** What a mistake is built from: the inputs and the exact evaluation. */
export interface MistakeContext {
  /** The images as given (before any downsampling). */
  readonly x: Tensor;
  readonly y: Tensor;
  /** SSIM's options (without a variant's own). */
  readonly options: SsimOptions;
  readonly e: SsimEvaluation;
  readonly wrt: 'x' | 'y';
  /** The options with the variant and its own options; absent: the pieces' options, else plain SSIM under `options`. */
  readonly variantOptions?: VariantOptions;
  /** For a variant (--variant): its graph and recorded evaluation (the checker's variant pieces). */
  readonly pieces?: RecordedVariant;
  /**
   * Set when x, y are a strip cut out of larger images (the checker's subsample):
   * the whole images' counts, so that the mistakes that change a normaliser scale as they would
   * on the whole images. Absent: the context's own images are the whole images.
   */
  readonly whole?: WholeCounts;
  /**
   * Set when x, y are a tile of larger images evaluated with the whole images' per-plane and
   * scalar values pinned (the checker's pinned subsample): no rho, the whole images' counts in
   * reverse mode, every rewrite on this graph and its pinned forward pass.
   */
  readonly tile?: TilePins;
}

/** A tile's graph with the whole images' values at its per-plane and scalar nodes (see MistakeContext.tile). */
export interface TilePins {
  /** The tile's variant graph (the nodes `forward`, `counts` and `wholeShape` know). */
  readonly graph: VariantGraph;
  /** Every node's value on the tile, the pinned ones the whole images'. */
  readonly forward: ReadonlyMap<number, Float64Array>;
  /** The whole images' count of every reduce node (for reverse mode). */
  readonly counts: ReadonlyMap<number, number>;
  readonly pin: ReadonlyMap<number, Float64Array>;
  /** The shape the node has in the whole images' graph. */
  wholeShape(n: FieldNode): Shape4;
}

/** The counts of the whole images that a strip's context needs (see MistakeContext.whole). */
export interface WholeCounts {
  /** Batch, channels, the averaged region of the map (RH x RW) and the work grid (H x W). */
  readonly N: number;
  readonly C: number;
  readonly RH: number;
  readonly RW: number;
  readonly H: number;
  readonly W: number;
  /** The weight omega of one averaged map pixel, and the same with the crop set to 0. */
  readonly omega: number;
  readonly omegaUncropped: number;
}

/** One wrong derivation. */
export interface KnownMistake {
  /** Stable identifier, e.g. 'per-pixel-chain-rule'. */
  readonly kind: string;
  readonly title: string;
  /** What the mistake is and why it goes wrong. */
  readonly explanation: string;
  /** The formula that is right instead. */
  readonly correctFormula: string;
  /** A scale of the exact gradient (normaliser, sign): compared only as it is, never up to a further scale. */
  readonly scaleOnly: boolean;
  /** The mistake's three terms on the work grid, or null when it does not apply here (or the loss windows more than one map). */
  terms(ctx: MistakeContext): GradientTerms | null;
  /** The mistaken gradient on the input grid, or null when it does not apply. */
  build(ctx: MistakeContext): Float64Array | null;
  /**
   * The rewritten adjoint program build runs (over the graph's fine graph, for the image it
   * differentiates for), or null when it does not apply: what second order differentiates for
   * this mistake's Hessian-vector product. Absent for a mistake that is no rewrite.
   */
  program?(ctx: MistakeContext): { readonly program: AdjointProgram; readonly side: 'x' | 'y'; readonly graph: VariantGraph } | null;
}

const cache = new WeakMap<MistakeContext, Map<string, unknown>>();
/** f's value for this context under `key`, computed once. */
export function memo<T>(ctx: MistakeContext, key: string, f: () => T): T {
  let m = cache.get(ctx);
  if (m === undefined) cache.set(ctx, (m = new Map()));
  if (!m.has(key)) m.set(key, f());
  return m.get(key) as T;
}

/** The options a context's graph is built from. */
export const optionsOf = (ctx: MistakeContext): VariantOptions => ctx.variantOptions ?? ctx.pieces?.options ?? ctx.options;

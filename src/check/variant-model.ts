/**
 * A variant's exact gradient taken apart for the checker and the tracer, read off its graph
 * (src/variants: the declaration's loss; src/graph: the one reverse mode). Nothing here knows a
 * variant by name or writes a chain rule of its own:
 *
 * - the float32 floor is the variant's graph evaluated in float32 arithmetic (Math.fround after
 *   every operation, src/graph/evaluate.ts); plain SSIM keeps its generated float32 kernels
 *   (floor.ts's roundingFloor: the kernel interpretation);
 * - the terms come from one float64 evaluation with `record`: at every windowed map of the graph
 *   (a map over the window moments mu_x, mu_y, m_xx, m_yy, m_xy, in a block or not), what reaches
 *   its image through the window node of mu_x (W^T g_mu), through the product map x x (2x W^T g_xx)
 *   and through the product map x y (y W^T g_xy), carried back to the input grid by reverse mode
 *   over the graph between the input and that image (the pooling of MS-SSIM's scales, a
 *   downsampling, a channel mix); summed over the windowed maps;
 * - the offset is what reaches the input outside the windowed maps (the 3DGS loss's L1 term);
 * - the factor d value/d ssim is the adjoint of the one SSIM block over the images themselves,
 *   where the loss has one.
 */
import { sizeOf, type Tensor } from '../field/index.js';
import { adjointProgram, runProgram, type AdjointProgram } from '../graph/adjoint.js';
import type { Contribution, GraphResult } from '../graph/evaluate.js';
import { argsOf, topoOrder, type BlockNode, type FieldNode, type LinearNode, type MapNode } from '../graph/node.js';
import { ssimFast, ssimGradXFloat32Arith, type GradientTerms, type SsimOptions, type VariantOptions } from '../runtime/index.js';
import { plainSsimOf, variantGraph, type VariantGraph } from '../variants/evaluate.js';
import { runVariant } from '../runtime/variants.js';
import { bySsimKernels, findVariant, resolveVariant } from '../variants/registry.js';
import type { VariantDeclaration } from '../variants/types.js';

/** Which image a gradient is taken with respect to. */
export type Side = 'x' | 'y';

/**
 * Whether the generated SSIM kernels compute the variant the options name (its `computedBy`: plain
 * SSIM), so that its exact gradient, floor and terms are SSIM's own evaluation's; an unknown name is
 * refused.
 */
export const computedBySsimKernels = (o: VariantOptions): boolean => bySsimKernels(findVariant(o.variant));

/** The declaration the options name. */
export const declarationOf = (o: VariantOptions): VariantDeclaration => findVariant(o.variant);

/** The SSIM options without the variant's own (what evaluateSsim and a plain-SSIM trace take); checks the variant's. */
export function plainOptions(o: VariantOptions): SsimOptions {
  return resolveVariant(o).ssimOptions;
}

/**
 * The variant's gradient (wrt `side`) in float32 arithmetic: its graph with Math.fround after
 * every operation. Computed by the SSIM kernels (plain SSIM): their float32 kernels (d/dy as d/dx
 with x and y swapped).
 */
export function variantGradient32(x: Tensor, y: Tensor, options: VariantOptions, side: Side): Float64Array {
  if (computedBySsimKernels(options)) {
    const plain = plainOptions(options);
    const g = side === 'x' ? ssimGradXFloat32Arith(x, y, plain) : ssimGradXFloat32Arith(y, x, plain);
    return Float64Array.from(g.gradX);
  }
  return runVariant(variantGraph(x, y, options), { arith: 'float32', wrt: [side] }).grads[side]!;
}

// ---- the graph's windowed maps ----------------------------------------------------------------

const MOMENTS = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy'] as const;
type Moment = (typeof MOMENTS)[number];

/** A map over the window moments (S, cs, Wang's form, a user's), with the nodes that feed it. */
export interface WindowedMap {
  /** The map F over the moments. */
  readonly map: MapNode;
  /** The block it belongs to (its value reduced over the region), or null for a bare map (g.ssimMap). */
  readonly block: BlockNode | null;
  readonly moments: Readonly<Record<Moment, LinearNode>>;
  /** The fields windowed: the images at this map's grid (x, y, or pooled, downsampled, mixed). */
  readonly images: { readonly x: FieldNode; readonly y: FieldNode };
  /** The product maps windowed: x x, y y, x y. */
  readonly products: { readonly xx: FieldNode; readonly yy: FieldNode; readonly xy: FieldNode };
}

/** The windowed maps of a loss, in the graph's order (MS-SSIM: finest scale first). */
export function windowedMaps(loss: FieldNode): WindowedMap[] {
  const blockOf = new Map<number, BlockNode>();
  for (const n of topoOrder([loss])) if (n.kind === 'block') blockOf.set(n.parts.map!.id, n);
  const out: WindowedMap[] = [];
  for (const n of topoOrder([loss], true)) {
    if (n.kind !== 'map' || !MOMENTS.every((k) => k in n.args)) continue;
    const m = Object.fromEntries(MOMENTS.map((k) => [k, n.args[k]!])) as Record<Moment, FieldNode>;
    if (!MOMENTS.every((k) => m[k].kind === 'linear' && m[k].spec.kind === 'window')) continue;
    const lin = m as Record<Moment, LinearNode>;
    out.push({
      map: n,
      block: blockOf.get(n.id) ?? null,
      moments: lin,
      images: { x: lin.mu_x.arg, y: lin.mu_y.arg },
      products: { xx: lin.m_xx.arg, yy: lin.m_yy.arg, xy: lin.m_xy.arg },
    });
  }
  return out;
}

/** The nodes between the input `side` and the given nodes (the input and those nodes included, where they depend on it). */
function chainFrom(side: Side, to: readonly FieldNode[]): Set<number> {
  const on = new Set<number>();
  for (const n of topoOrder(to, true)) {
    if ((n.kind === 'input' && n.name === side) || argsOf(n).some((a) => on.has(a.id))) on.add(n.id);
  }
  return on;
}

const programs = new WeakMap<FieldNode, Map<Side, AdjointProgram>>();
/** The loss's adjoint program wrt one image over its fine graph (built once per graph and image, unless counts are given). */
function fineProgram(g: VariantGraph, side: Side, counts: ReadonlyMap<number, number> | undefined): AdjointProgram {
  if (counts !== undefined) return adjointProgram(g.loss, { wrt: [side], expand: true, counts });
  let bySide = programs.get(g.loss);
  if (bySide === undefined) programs.set(g.loss, (bySide = new Map()));
  let p = bySide.get(side);
  if (p === undefined) bySide.set(side, (p = adjointProgram(g.loss, { wrt: [side], expand: true })));
  return p;
}

/**
 * Reverse mode from inner nodes to the input `side`: the loss's adjoint program run from the
 * given adjoints (the gradient of sum_k <node_k, seed_k> with respect to the input) over the
 * recorded forward pass `rec` (fine graph, every value; seeds on the input itself are added as
 * they are). `counts`: the reduce nodes' counts the recorded evaluation took (a pinned tile's).
 */
export function pullBack(
  g: VariantGraph,
  rec: GraphResult,
  seeds: ReadonlyArray<readonly [FieldNode, Float64Array]>,
  side: Side,
  counts?: ReadonlyMap<number, number>,
): Float64Array {
  const out = new Float64Array(sizeOf(g.shape));
  const byNode = new Map<number, [FieldNode, Float64Array]>();
  for (const [n, v] of seeds) {
    if (n.kind === 'input' && n.name === side) {
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + v[i]!;
      continue;
    }
    const hit = byNode.get(n.id);
    if (hit === undefined) byNode.set(n.id, [n, v.slice()]);
    else for (let i = 0; i < v.length; i++) hit[1][i] = hit[1][i]! + v[i]!;
  }
  if (byNode.size === 0) return out;
  const program = fineProgram(g, side, counts);
  const image = program.order.find((n) => n.kind === 'input' && n.name === side);
  const r = image === undefined ? undefined : runProgram(program, rec.values, { arith: 'float64', seeds: [...byNode.values()] }).adjoints.get(image.id);
  if (r !== undefined) for (let i = 0; i < out.length; i++) out[i] = out[i]! + r[i]!;
  return out;
}

type Seeds = Array<readonly [FieldNode, Float64Array]>;

/** One windowed map's share of the exact gradient. */
export interface WindowedShare {
  readonly windowed: WindowedMap;
  /** Its three terms, carried back to the input grid. */
  readonly terms: GradientTerms;
  /** The same on its own image grid, before carrying back (by node: the image it windows). */
  readonly seeds: { readonly mean: Seeds; readonly square: Seeds; readonly cross: Seeds };
}

/** What reaches the input `side` from a recorded evaluation, by windowed map and term, and the rest. */
export function shares(g: VariantGraph, rec: GraphResult, side: Side, counts?: ReadonlyMap<number, number>): { shares: WindowedShare[]; rest: Contribution[] } {
  const carried: Array<GradientTerms | undefined> = [];
  const wins = windowedMaps(g.loss);
  const images = wins.map((w) => w.images[side]);
  const chain = chainFrom(side, images);
  const found = wins.map(() => ({ mean: [] as Seeds, square: [] as Seeds, cross: [] as Seeds }));
  const owner = new Map<number, { k: number; term: 'mean' | 'square' | 'cross' }>();
  wins.forEach((w, k) => {
    owner.set(w.moments[side === 'x' ? 'mu_x' : 'mu_y'].id, { k, term: 'mean' });
    owner.set(w.products[side === 'x' ? 'xx' : 'yy'].id, { k, term: 'square' });
    owner.set(w.products.xy.id, { k, term: 'cross' });
  });
  const rest: Contribution[] = [];
  for (const c of rec.contributions) {
    if (!chain.has(c.to.id) || chain.has(c.from.id)) continue;
    const o = owner.get(c.from.id);
    if (o !== undefined && c.to.id === wins[o.k]!.images[side].id) found[o.k]![o.term].push([c.to, c.value]);
    else rest.push(c);
  }
  return {
    shares: wins.map((windowed, k) => ({
      windowed,
      seeds: found[k]!,
      // carried back when read (the tracer reads each map's; the checker only their sum)
      get terms(): GradientTerms {
        return (carried[k] ??= { mean: pullBack(g, rec, found[k]!.mean, side, counts), square: pullBack(g, rec, found[k]!.square, side, counts), cross: pullBack(g, rec, found[k]!.cross, side, counts) });
      },
    })),
    rest,
  };
}

/** The windowed map that is SSIM itself over the images, reduced as the options say, if the loss has one and only one. */
export function ssimBlockOf(wins: readonly WindowedMap[]): BlockNode | null {
  if (wins.length !== 1) return null;
  const b = wins[0]!.block;
  const [x, y] = [wins[0]!.images.x, wins[0]!.images.y];
  const isImage = (n: FieldNode, name: string): boolean => n.kind === 'input' && n.name === name;
  return b !== null && b.reduce === 'loss' && b.label === 'S' && isImage(x, 'x') && isImage(y, 'y') ? b : null;
}

// ---- the float64 pieces -------------------------------------------------------------------------

/** Everything the checker needs about a variant's exact gradient wrt one image. */
export interface VariantPieces {
  /** The variant's name. */
  readonly variant: string;
  readonly decl: VariantDeclaration;
  /** The options with the variant's own. */
  readonly options: VariantOptions;
  readonly value: number;
  /** SSIM of the images under the options (what the report calls ssim). */
  readonly ssim: number;
  /** The exact gradient (evaluateVariant: the graph in float64, its blocks on the generated kernels). */
  readonly exact: Float64Array;
  /** The three chain-rule terms of the exact gradient on the input grid, summed over the windowed maps. */
  readonly terms: GradientTerms;
  /** The part of the exact gradient outside the windowed maps (the 3DGS loss's L1 term), or null where there is none. */
  readonly offset: Float64Array | null;
  /** d value / d ssim: the adjoint of the loss's one SSIM block over the images, or null. */
  readonly factor: number | null;
  /** The graph and its recorded float64 evaluation (fine graph: every block expanded). */
  readonly graph: VariantGraph;
  readonly record: GraphResult;
  /** Per windowed map: its terms on the input grid. */
  readonly shares: readonly WindowedShare[];
  /** What reaches the image's chain outside the windowed maps (the offset's contributions, as recorded). */
  readonly rest: readonly Contribution[];
}

/**
 * The variant's value and exact gradient (its graph on the generated kernels, as evaluateVariant
 * gives them), with its terms, offset and factor from one recorded float64 evaluation of the same
 * graph (built once). (The fifth argument, SSIM's own terms, is no longer read: the graph gives
 * every variant's.)
 */
export function variantPieces(x: Tensor, y: Tensor, options: VariantOptions, side: Side, _ssimTerms?: () => GradientTerms): VariantPieces {
  const graph = variantGraph(x, y, options); // validates the options (InputError, exit 2)
  const fused = runVariant(graph, { wrt: [side] });
  const ssim = plainSsimOf(graph, fused) ?? ssimFast(x, y, graph.variant.ssimOptions, 'float64');
  const record = runVariant(graph, { wrt: [side], record: true, fused: false });
  const { shares: parts, rest } = shares(graph, record, side);
  // the three terms summed over the windowed maps: one reverse pass each, whatever their number
  const all = (term: 'mean' | 'square' | 'cross'): Float64Array => pullBack(graph, record, parts.flatMap((s) => s.seeds[term]), side);
  const terms: GradientTerms = { mean: all('mean'), square: all('square'), cross: all('cross') };
  const offset = rest.length === 0 ? null : pullBack(graph, record, rest.map((c) => [c.to, c.value] as const), side);
  const block = ssimBlockOf(parts.map((s) => s.windowed));
  const factor = block === null ? null : record.adjoints.get(block.expanded.id)![0]!;
  return {
    variant: graph.variant.decl.name, decl: graph.variant.decl, options, value: fused.value[0]!, ssim,
    exact: fused.grads[side]!, terms, offset, factor, graph, record, shares: parts, rest,
  };
}

/** The pieces with some fields changed. */
export function amendPieces(p: VariantPieces, changes: Partial<Pick<VariantPieces, 'exact' | 'offset'>>): VariantPieces {
  return { ...p, ...changes };
}

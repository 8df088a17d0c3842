/**
 * A library of wrong derivations, each a rewrite of the loss's graph (src/graph/evaluate.ts,
 * `Rewrite`): one rule of reverse mode changed for chosen nodes (a window's transpose replaced, a
 * partial changed, a mean's count changed, an edge dropped, the seed negated), evaluated by the
 * one reverse mode. A candidate that equals one of them to rounding has made exactly that mistake.
 *
 * Nothing here knows a variant. The mistakes are found in the variant's graph by its shape:
 *
 * - SSIM's own (KNOWN_MISTAKES): wherever the graph windows the moments mu = W x, m_xx = W (x x),
 *   m_xy = W (x y) into a map of them (SSIM, cs, Wang's form, a user's g.ssimMap): the per-pixel
 *   chain rule, the boundaries of the window's transpose, the partials of the map, the factor 2 of
 *   x x, the crop and the count of the region's mean. In a variant other than plain SSIM their
 *   kinds carry the variant's name (`<variant>/per-pixel-chain-rule`).
 * - the loss's own (mistakesFor): for each pointwise map, linear node and mean outside those (a
 *   variant's (1 - s)/d, the 3DGS loss's sum, MS-SSIM's product and pooling, a user's), the
 *   branch through one argument left out or its sign flipped, the map's factor left out (or only
 *   its sign kept), two constant weights swapped, the product rule left out, a transpose left out,
 *   unnormalised or replaced by the forward, a mean taken as a sum; the sign of the whole and the
 *   other image. Their kinds name the node by its label (`branch-dropped:loss.q`: the branch through q of the map labelled loss).
 *
 * Where two rewrites give one gradient the first listed keeps it (distinctMistakes): plain SSIM's
 * library in its order; for a variant, the whole loss's and its own nodes' before SSIM's inside it.
 *
 * A mistake's three chain-rule terms (the analogue of W^T g_mu, 2x W^T g_xx, y W^T g_xy on the
 * work grid, for the tracer and the terms fit) are the contributions reverse mode records into the
 * image through the mean's window, the square's map and the cross product's map.
 */
import { add, div, grad, mul, neg, num, substitute, variable, variablesOf, type Node } from '../expr/index.js';
import { centralSsim } from './central.js';
import { BOUNDARIES, BOUNDARY_RULES } from '../field/boundary.js';
import { crop, InputError, sizeOf, type Boundary, type Shape4, type Tensor } from '../field/index.js';
import type { VariantDeclaration } from '../variants/types.js';
import { partialOf, type GraphResult, type Rewrite } from '../graph/evaluate.js';
import { LINEAR_RULES, linearOp } from '../graph/linear.js';
import { argsOf, resolved, topoOrder, type BlockNode, type FieldNode, type LinearNode, type MapNode, type ReduceNode } from '../graph/node.js';
import type { GradientTerms, SsimEvaluation, SsimOptions, VariantOptions } from '../ssim/index.js';
import { ssimMap } from '../ssim/maps.js';
import { PLAIN } from '../variants/registry.js';
import { runVariant, variantGraph, type VariantGraph } from '../variants/evaluate.js';
import type { VariantPieces } from './variant-model.js';

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
  /** For a variant (--variant): its exact gradient taken apart (variant-model.ts). */
  readonly pieces?: VariantPieces;
  /**
   * Set when x, y are a strip cut out of larger images (the checker's subsample, subsample.ts):
   * the whole images' counts, so that the mistakes that change a normaliser scale as they would
   * on the whole images. Absent: the context's own images are the whole images.
   */
  readonly whole?: WholeCounts;
  /**
   * Set when x, y are a tile of larger images evaluated with the whole images' per-plane and
   * scalar values pinned (subsample.ts, pinnedContext): no rho, the whole images' counts in
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
}

const CORRECT =
  'd ssim/dx = W^T g_mu + 2x . W^T g_xx + y . W^T g_xy, where g_mu, g_xx, g_xy are the maps omega dS/d(mu_x, m_xx, m_xy) ' +
  '(omega = 1/count of the mean) and W^T is the adjoint of the windowed mean';

const GRAPH_CORRECT =
  "reverse mode over the loss's graph: every node hands its adjoint to every argument it reads (a pointwise map times its partial " +
  'with respect to that argument, a linear operator through its transpose, a mean divided by its count), and the shares reaching an image add up';

// ---- the graph taken apart ------------------------------------------------------------------

/** The windowed moments of one map: mu_x = W x, ..., the map F over them, and the pointwise products. */
interface MomentStructure {
  readonly map: MapNode;
  readonly windows: Readonly<Record<'mu_x' | 'mu_y' | 'm_xx' | 'm_yy' | 'm_xy', LinearNode>>;
  /** The maps x x, y y and x y the windows average. */
  readonly square: { readonly x: MapNode; readonly y: MapNode };
  readonly cross: MapNode;
  /** The fields the windows read as x and y (the work grid's images). */
  readonly x: FieldNode;
  readonly y: FieldNode;
}

/** A variant's graph for one pair of images, with the nodes the mistakes rewrite. */
interface Anatomy {
  readonly vg: VariantGraph;
  readonly plain: boolean;
  readonly name: string;
  readonly moments: readonly MomentStructure[];
  /** Every window node of a moment structure. */
  readonly windows: ReadonlySet<LinearNode>;
  /** Blocks reduced to the loss (one scalar, SSIM's mean), with the reduce over their region and the region. */
  readonly lossBlocks: ReadonlyArray<{ readonly block: BlockNode; readonly reduce: ReduceNode; readonly region: FieldNode; readonly crop: LinearNode | null }>;
  /** Ids of nodes inside blocks' fine graphs. */
  readonly inner: ReadonlySet<number>;
  /** Nodes outside blocks and moment structures, arguments before users. */
  readonly outerMaps: readonly MapNode[];
  readonly outerLinear: readonly LinearNode[];
  readonly outerReduces: readonly ReduceNode[];
  /** Whether the loss still depends on an image when the edges `cut` says are left out. */
  depends(cut: (n: FieldNode, a: FieldNode) => boolean): boolean;
}

const MOMENTS = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy'] as const;

function momentStructure(n: FieldNode): MomentStructure | null {
  if (n.kind !== 'map') return null;
  const w: Partial<Record<(typeof MOMENTS)[number], LinearNode>> = {};
  for (const k of MOMENTS) {
    const a = n.args[k];
    if (a === undefined || a.kind !== 'linear' || a.spec.kind !== 'window') return null;
    w[k] = a;
  }
  const windows = w as Record<(typeof MOMENTS)[number], LinearNode>;
  const sx = windows.m_xx.arg;
  const sy = windows.m_yy.arg;
  const c = windows.m_xy.arg;
  if (sx.kind !== 'map' || sy.kind !== 'map' || c.kind !== 'map') return null;
  return { map: n, windows, square: { x: sx, y: sy }, cross: c, x: windows.mu_x.arg, y: windows.mu_y.arg };
}

function anatomyOf(vg: VariantGraph): Anatomy {
  const all = topoOrder([vg.loss], true);
  const moments = all.map(momentStructure).filter((m): m is MomentStructure => m !== null);
  const structural = new Set<number>();
  for (const m of moments) {
    structural.add(m.map.id);
    for (const k of MOMENTS) structural.add(m.windows[k].id);
    structural.add(m.square.x.id).add(m.square.y.id).add(m.cross.id);
  }
  const top = topoOrder([vg.loss], false);
  const blocks = top.filter((n): n is BlockNode => n.kind === 'block');
  const inner = new Set<number>();
  for (const b of blocks) {
    const own = new Set(topoOrder([b.x, b.y], true).map((n) => n.id));
    for (const n of topoOrder([b.expanded], true)) if (!own.has(n.id)) inner.add(n.id);
  }
  const lossBlocks = blocks.filter((b) => b.reduce === 'loss').map((b) => {
    const region = b.parts.region!;
    const reduce = topoOrder([b.expanded], true).find((n): n is ReduceNode => n.kind === 'reduce' && n.arg.id === region.id)!;
    const crop = region.kind === 'linear' && region.spec.kind === 'crop' ? region : null;
    return { block: b, reduce, region, crop };
  });
  const outer = top.filter((n) => n.kind !== 'block' && !structural.has(n.id));
  /** Which nodes depend on an image when the edges `cut` says are left out. */
  const dependence = (cut: (n: FieldNode, a: FieldNode) => boolean): Map<number, boolean> => {
    const dep = new Map<number, boolean>();
    for (const n of top) {
      if (n.kind === 'input') dep.set(n.id, n.name === 'x' || n.name === 'y');
      else dep.set(n.id, argsOf(n).some((a) => !cut(n, a) && dep.get(a.id) === true));
    }
    return dep;
  };
  const depOf = dependence(() => false);
  const dependsOn = (n: FieldNode): boolean => depOf.get(n.id) === true;
  const depends = (cut: (n: FieldNode, a: FieldNode) => boolean): boolean => dependence(cut).get(vg.loss.id) === true;
  const windows = new Set<LinearNode>(moments.flatMap((m) => MOMENTS.map((k) => m.windows[k])));
  return {
    vg,
    plain: vg.variant.decl === PLAIN,
    name: vg.variant.decl.name,
    moments,
    windows,
    lossBlocks,
    inner,
    outerMaps: outer.filter((n): n is MapNode => n.kind === 'map' && dependsOn(n)),
    outerLinear: outer.filter((n): n is LinearNode => n.kind === 'linear' && dependsOn(n)),
    outerReduces: outer.filter((n): n is ReduceNode => n.kind === 'reduce' && dependsOn(n)),
    depends,
  };
}

/** Whether argument v of map m depends on an image (a mask does not). */
function dependsThrough(m: MapNode, v: string): boolean {
  return topoOrder([m.args[v]!], false).some((n) => n.kind === 'input' && (n.name === 'x' || n.name === 'y'));
}

// ---- evaluation of a rewrite ----------------------------------------------------------------

/** A mistake's rewrite: reverse mode's hooks, with counts in the whole images' terms, and which image. */
interface Plan {
  readonly transpose?: Rewrite['transpose'];
  readonly partial?: Rewrite['partial'];
  readonly drop?: Rewrite['drop'];
  readonly seed?: number;
  /** The count a mean divides by, given its count over the whole images. */
  readonly count?: (node: ReduceNode, whole: number) => number | undefined;
  /** The gradient with respect to the other image. */
  readonly otherImage?: boolean;
}

const cache = new WeakMap<MistakeContext, Map<string, unknown>>();
function memo<T>(ctx: MistakeContext, key: string, f: () => T): T {
  let m = cache.get(ctx);
  if (m === undefined) cache.set(ctx, (m = new Map()));
  if (!m.has(key)) m.set(key, f());
  return m.get(key) as T;
}

/** The options a context's graph is built from. */
const optionsOf = (ctx: MistakeContext): VariantOptions => ctx.variantOptions ?? ctx.pieces?.options ?? ctx.options;

/** The context's graph taken apart: the variant pieces' own graph where the context has them (built once per check). */
const anatomy = (ctx: MistakeContext): Anatomy => memo(ctx, 'anatomy', () => anatomyOf(ctx.tile?.graph ?? ctx.pieces?.graph ?? variantGraph(ctx.x, ctx.y, optionsOf(ctx))));

/** A node's shape in the whole images' graph (its own unless the context is a pinned tile). */
const wholeShapeOf = (ctx: MistakeContext, n: FieldNode): Shape4 => ctx.tile?.wholeShape(n) ?? n.shape;

/** omega of one averaged map pixel in a plain SSIM evaluation. */
const omegaOf = (e: SsimEvaluation): number => e.weights.find((w) => w > 0)!;

/**
 * The rewrite evaluated: the gradient with respect to the context's image (the other one for
 * otherImage) and, with `record`, what reached that image through the moment windows and maps.
 * On a strip (ctx.whole) every count is set so that rho (the whole images' omega over the strip's)
 * times the strip's gradient is the whole images' at the kept pixels: the means inside blocks are
 * scaled by rho already, the others (over image-sized fields) take the whole images' count.
 */
function run(ctx: MistakeContext, a: Anatomy, plan: Plan, record: boolean): { grad: Float64Array; terms: GradientTerms | null } | null {
  if (ctx.tile !== undefined) return runPinned(ctx, ctx.tile, a, plan, record);
  const w = ctx.whole;
  const rho = w === undefined ? 1 : w.omega / omegaOf(ctx.e);
  const work = a.moments[0]?.x.shape ?? a.vg.shape;
  const ratio = w === undefined ? 1 : (w.N * w.C * w.H * w.W) / sizeOf(work);
  const count: Rewrite['count'] =
    plan.count === undefined && w === undefined
      ? undefined
      : (node, c) => {
          const inner = a.inner.has(node.id);
          const whole = inner ? c / rho : c * ratio;
          const m = plan.count?.(node, whole);
          if (m === undefined) return inner || w === undefined ? undefined : rho * whole;
          return rho * m;
        };
  const rewrite: Rewrite = {
    ...(plan.transpose ? { transpose: plan.transpose } : {}),
    ...(plan.partial ? { partial: plan.partial } : {}),
    ...(plan.drop ? { drop: plan.drop } : {}),
    ...(count ? { count } : {}),
    ...(plan.seed !== undefined ? { seed: plan.seed } : {}),
  };
  const side = plan.otherImage === true ? (ctx.wrt === 'x' ? 'y' : 'x') : ctx.wrt;
  // one forward pass for every rewrite of this context: they change reverse mode only
  // (the pieces' recorded evaluation is that forward pass, of the same graph, where the context has them)
  const forward = memo(ctx, 'forward', () => (ctx.pieces?.graph === a.vg ? ctx.pieces.record.values : runVariant(a.vg, { fused: false, record: true }).values));
  const r = runVariant(a.vg, { wrt: [side], rewrite, record, fused: false, forward });
  return { grad: r.grads[side]!, terms: record ? termsOf(a, r, side) : null };
}

/**
 * The rewrite on a pinned tile: reverse mode with the whole images' counts (the rewrite's count
 * hook sees them) over the tile's forward pass with the whole images' per-plane and scalar values.
 */
function runPinned(ctx: MistakeContext, t: TilePins, a: Anatomy, plan: Plan, record: boolean): { grad: Float64Array; terms: GradientTerms | null } {
  const rewrite: Rewrite = {
    ...(plan.transpose ? { transpose: plan.transpose } : {}),
    ...(plan.partial ? { partial: plan.partial } : {}),
    ...(plan.drop ? { drop: plan.drop } : {}),
    ...(plan.count ? { count: plan.count } : {}),
    ...(plan.seed !== undefined ? { seed: plan.seed } : {}),
  };
  const side = plan.otherImage === true ? (ctx.wrt === 'x' ? 'y' : 'x') : ctx.wrt;
  const r = runVariant(a.vg, { wrt: [side], rewrite, record, fused: false, forward: t.forward, counts: t.counts });
  return { grad: r.grads[side]!, terms: record ? termsOf(a, r, side) : null };
}

/** What reached the image through the one moment structure's windows and maps (null: not one). */
function termsOf(a: Anatomy, r: GraphResult, side: 'x' | 'y'): GradientTerms | null {
  let terms: GradientTerms | null = null;
  if (a.moments.length === 1) {
    const m = a.moments[0]!;
    const img = side === 'x' ? m.x : m.y;
    const sum = (from: FieldNode, via: string): Float64Array => {
      const out = new Float64Array(sizeOf(img.shape));
      for (const c of r.contributions) if (c.from.id === from.id && c.to.id === img.id && c.via === via) for (let i = 0; i < out.length; i++) out[i]! += c.value[i]!;
      return out;
    };
    const square = side === 'x' ? m.square.x : m.square.y;
    const viaImage = (n: MapNode): string => Object.keys(n.args).find((k) => n.args[k]!.id === img.id) ?? side;
    terms = {
      mean: sum(side === 'x' ? m.windows.mu_x : m.windows.mu_y, 'arg'),
      square: sum(square, viaImage(square)),
      cross: sum(m.cross, viaImage(m.cross)),
    };
  }
  return terms;
}

/** A mistake of the library: its words, when it is a pure scale, and its rewrite of a graph (null: does not apply). */
interface MistakeSpec {
  readonly kind: string;
  readonly title: string;
  readonly explanation: string;
  readonly correctFormula: string;
  readonly scaleOnly: (a: Anatomy) => boolean;
  readonly plan: (a: Anatomy, ctx: MistakeContext) => Plan | null;
}

/** True when the gradient is zero everywhere (the rewrite cut every path: no mistake to name). */
const allZero = (g: Float64Array): boolean => g.every((v) => v === 0);

function known(spec: MistakeSpec, words: { kind: string; title: string; explanation: string; correctFormula: string }, scaleOnly: boolean): KnownMistake {
  const evaluate = (ctx: MistakeContext, record: boolean) => {
    const a = anatomy(ctx);
    const plan = spec.plan(a, ctx);
    if (plan === null) return null;
    const r = run(ctx, a, plan, record);
    return r === null || allZero(r.grad) ? null : r;
  };
  return {
    ...words,
    scaleOnly,
    terms: (ctx) => memo(ctx, `terms:${words.kind}`, () => evaluate(ctx, true)?.terms ?? null),
    build: (ctx) => memo(ctx, `build:${words.kind}`, () => evaluate(ctx, false)?.grad ?? null),
  };
}

// ---- SSIM's mistakes: rewrites of the moment windows, maps and the region's mean ---------------

const ones = (shape: Shape4): Float64Array => new Float64Array(sizeOf(shape)).fill(1);

/** A window's output placed on its input's grid (the centre of each window; 'valid' maps are smaller). */
function onInputGrid(node: LinearNode, v: Float64Array): Float64Array {
  const [, , H, W] = node.arg.shape;
  const [, , MH, MW] = node.shape;
  if (MH === H && MW === W) return v;
  const oh = (H - MH) / 2;
  const ow = (W - MW) / 2;
  return crop(node.arg.shape, oh, oh, ow, ow).transpose(v);
}

/** The window nodes' transposes replaced (those of `which`; null from `replace` keeps the exact one). */
function windowTranspose(a: Anatomy, replace: (node: LinearNode, adjoint: Float64Array, exact: (v: Float64Array) => Float64Array) => Float64Array | null): Plan | null {
  return {
    transpose: (node, adjoint, exact) => (a.windows.has(node) ? (replace(node, adjoint, exact) ?? undefined) : undefined),
  };
}

/** The partials of the moment maps rewritten from their exact ones (P(name) gives an exact partial). */
function momentPartials(a: Anatomy, rewrite: (arg: string, P: (name: string) => Node) => Node | undefined): Plan['partial'] {
  const maps = new Map(a.moments.map((m) => [m.map.id, m.map] as const));
  return (node, arg) => {
    const m = maps.get(node.id);
    if (m === undefined) return undefined;
    const P = (name: string): Node => partialOf(m, name);
    return rewrite(arg, P);
  };
}

const v = variable;

/** (1) The seed question's formula. */
const perPixelChainRule: MistakeSpec = {
  kind: 'per-pixel-chain-rule',
  title: "per-pixel chain rule: the window's transpose is missing",
  explanation:
    "The statistics at map pixel q depend on every pixel p in q's window, so d ssim/dx(p) must gather the partials of every " +
    "map pixel whose window reads p, each weighted by its tap. The per-pixel rule multiplies p's own partials by W^T 1 instead, " +
    'as if g_mu, g_xx, g_xy were constant across the window. Where the partial maps are smooth the two nearly agree, which is why ' +
    'the error looks like noise.',
  correctFormula: `${CORRECT}: correlate each partial map with the flipped window (zero padding: conv2d(g, flip(window), padding = size // 2)), then multiply by 2x and y`,
  scaleOnly: () => false,
  plan: (a) =>
    a.windows.size === 0
      ? null
      : windowTranspose(a, (node, adjoint, exact) => {
          const wt1 = exact(ones(node.shape));
          const g = onInputGrid(node, adjoint);
          return wt1.map((w, p) => w * g[p]!);
        }),
};

/** (2) var and cov differentiated as if they did not depend on the means. */
const meansIndependent: MistakeSpec = {
  kind: 'variances-independent-of-means',
  title: 'variances and covariance treated as independent of the means',
  explanation:
    'var_x = m_xx - mu_x^2 and cov = m_xy - mu_x mu_y depend on mu_x, so dS/dmu_x through the raw moments is ' +
    'dS/dmu_x|(var, cov fixed) - 2 mu_x dS/dvar_x - mu_y dS/dcov. The candidate keeps only the first part: the partial of S ' +
    'written over (mu, var, cov) is not the partial the chain rule to the pixels needs.',
  correctFormula: `${CORRECT}, where g_mu = omega [dS/dmu_x - 2 c_n mu_x dS/dvar_x - c_n mu_y dS/dcov] (for y: mu_y, var_y and mu_x)`,
  scaleOnly: () => false,
  // dS/dmu|central = P(mu_x) + 2 mu_x P(m_xx) + mu_y P(m_xy), P the partials over the raw moments
  plan: (a) =>
    a.moments.length === 0
      ? null
      : {
          partial: momentPartials(a, (arg, P) =>
            arg === 'mu_x'
              ? add(P('mu_x'), mul(2, v('mu_x'), P('m_xx')), mul(v('mu_y'), P('m_xy')))
              : arg === 'mu_y'
                ? add(P('mu_y'), mul(2, v('mu_y'), P('m_yy')), mul(v('mu_x'), P('m_xy')))
                : undefined,
          ),
        },
};

/** (3) Normalisers: the gradient of a mean divided by the wrong count. */
type Count = (c: { N: number; C: number; RH: number; RW: number; H: number; W: number }) => number;
/** The counts a normaliser is built from: the whole images' (a strip's context carries them). */
function regionCounts(ctx: MistakeContext, a: Anatomy) {
  if (ctx.whole !== undefined) return ctx.whole;
  const b = a.lossBlocks[0]!;
  const [N, C, RH, RW] = wholeShapeOf(ctx, b.region);
  const [, , H, W] = wholeShapeOf(ctx, b.block.x);
  return { N, C, RH, RW, H, W };
}
/** The count of a block's mean over its region (all of it, or one plane's for a sum over planes). */
const countOf = (r: ReduceNode, shape: Shape4 = r.arg.shape): number => (r.how === 'mean' ? sizeOf(shape) : r.how === 'planeMean' ? shape[2] * shape[3] : 1);
function normaliser(kind: string, countName: string, why: string, count: Count): MistakeSpec {
  return {
    kind: `normaliser-${kind}`,
    title: `wrong normaliser: divided by ${countName}`,
    explanation:
      `The loss is a mean, so every partial carries 1/count with count the number of map pixels averaged. ` +
      `The candidate divides by ${countName} instead (${why}), which scales the whole gradient by the ratio of the two counts.`,
    correctFormula: `${CORRECT}; for this configuration omega = 1/(N C H_r W_r) for --reduction mean (H_r x W_r the averaged region of the map), 1/(H_r W_r) for sum`,
    scaleOnly: (a) => !a.depends((n) => a.lossBlocks.some((b) => b.block.id === n.id)),
    plan(a, ctx) {
      if (a.lossBlocks.length === 0) return null;
      const r0 = a.lossBlocks[0]!.reduce;
      const actual = ctx.whole !== undefined ? 1 / ctx.whole.omega : countOf(r0, wholeShapeOf(ctx, r0.arg));
      const wrong = count(regionCounts(ctx, a));
      if (Math.abs(wrong - actual) <= 1e-9 * actual) return null;
      const reduces = new Set(a.lossBlocks.map((b) => b.reduce.id));
      return { count: (node, whole) => (reduces.has(node.id) ? (whole * wrong) / actual : undefined) };
    },
  };
}
const normalisers: MistakeSpec[] = [
  normaliser('plane', 'the pixels of one channel (H x W)', 'the mean of one plane; the channels and the batch are left out', (c) => c.RH * c.RW),
  normaliser('image', 'one image (C x H x W)', 'the batch is left out', (c) => c.C * c.RH * c.RW),
  normaliser('all', 'every pixel of every channel and image (N x C x H x W)', 'the mean of the batch over the averaged region', (c) => c.N * c.C * c.RH * c.RW),
  normaliser('size1-size2', 'C x H (size(1) * size(2) of an NCHW tensor)', 'size(1) * size(2) is H x W only for a CHW tensor', (c) => c.C * c.H),
  normaliser('uncropped-count', 'the input size N x C x H x W instead of the averaged region', "the map is cropped or 'valid', so it has fewer pixels than the image", (c) => c.N * c.C * c.H * c.W),
  normaliser('none', '1 (the gradient of the sum, not the mean)', 'the 1/count of the mean is missing', () => 1),
];

/** The gradient of minus the value (1 - ssim, a loss) instead of the value. */
const signFlipped: MistakeSpec = {
  kind: 'sign-flipped',
  title: 'sign flipped: the gradient of 1 - ssim (or -ssim)',
  explanation:
    'The candidate is minus the exact gradient of ssim. That is right for the loss 1 - ssim; ssim-grad checks d ssim / dx. ' +
    'If your candidate is meant to be the loss gradient, this is no mistake: negate it to check it.',
  correctFormula: `${CORRECT}; d(1 - ssim)/dx = -d ssim/dx`,
  scaleOnly: () => true,
  plan: () => ({ seed: -1 }),
};

/** (4) The transpose of the window under another boundary rule, the forward statistics kept. */
function wrongBoundary(b: Boundary): MistakeSpec {
  return {
    kind: `boundary-transpose-${b}`,
    title: `the window's transpose under ${BOUNDARY_RULES[b].mistake} instead of the forward's boundary`,
    explanation:
      `The forward pass pads with one rule, the backward pass scatters the partials back through the padding of another (${BOUNDARY_RULES[b].mistake}). ` +
      'The interior is right; within the window radius of the edges the gradient collects the wrong taps.',
    correctFormula: `${CORRECT}; W^T must be the adjoint of the forward's own padding: zero padding's adjoint drops what fell outside, reflect and mirror padding fold it back onto the pixels it was copied from, replicate onto the edge pixel`,
    scaleOnly: () => false,
    plan(a) {
      const applies = [...a.windows].some((n) => n.spec.kind === 'window' && n.spec.boundary !== b && BOUNDARY_RULES[n.spec.boundary].pads);
      if (!applies) return null;
      return windowTranspose(a, (node, adjoint) => {
        const spec = node.spec;
        if (spec.kind !== 'window' || spec.boundary === b || !BOUNDARY_RULES[spec.boundary].pads) return null;
        return linearOp({ ...spec, boundary: b }, node.arg.shape).transpose(adjoint);
      });
    },
  };
}
const wrongBoundaries = BOUNDARIES.filter((b) => BOUNDARY_RULES[b].pads).map(wrongBoundary);

/** (4') The forward correlation used as its own adjoint, wrong where the padding is not self-adjoint. */
const notSelfAdjoint = (n: LinearNode): boolean => n.spec.kind === 'window' && BOUNDARY_RULES[n.spec.boundary].pads && !BOUNDARY_RULES[n.spec.boundary].selfAdjoint;
const forwardAsAdjoint: MistakeSpec = {
  kind: 'forward-as-adjoint',
  title: 'the forward window used as its own transpose',
  explanation:
    'With a symmetric window, zero padding and half-sample reflection make W self-adjoint, so reusing the forward filter ' +
    "for the backward pass works there. Under whole-sample mirror (torch 'reflect') and replicate padding it does not: the padded " +
    'samples must be scattered back onto the pixels they copy.',
  correctFormula: `${CORRECT}; model the padding as its own linear map P and use W^T = P^T (correlation with the flipped window, no padding)`,
  scaleOnly: () => false,
  plan: (a) => ([...a.windows].some(notSelfAdjoint) ? windowTranspose(a, (node, adjoint) => (notSelfAdjoint(node) ? node.op.apply(adjoint) : null)) : null),
};

/** (5) The sample-covariance factor NP/(NP-1) left out of the gradient. */
const sampleCovarianceDropped: MistakeSpec = {
  kind: 'sample-covariance-dropped',
  title: 'the sample-covariance factor NP/(NP-1) dropped from the gradient',
  explanation:
    'With sample covariance, var = c_n (m_xx - mu^2) and cov = c_n (m_xy - mu_x mu_y), c_n = NP/(NP-1). The candidate uses c_n in the ' +
    'forward statistics but differentiates var and cov as if c_n were 1.',
  correctFormula: `${CORRECT}; g_xx = omega c_n dS/dvar_x, g_xy = omega c_n dS/dcov, g_mu = omega [dS/dmu_x - 2 c_n mu_x dS/dvar_x - c_n mu_y dS/dcov]`,
  scaleOnly: () => false,
  // the raw partials over c_n = 1: P(mu) + (c_n - 1)/c_n (2 mu P(m_ss) + mu_o P(m_xy)), P(m_ss)/c_n, P(m_xy)/c_n
  plan(a) {
    if (!a.moments.some((m) => (m.map.consts.c_n ?? 1) !== 1)) return null;
    const cn = v('c_n');
    const k = div(add(cn, -1), cn);
    return {
      partial: momentPartials(a, (arg, P) => {
        switch (arg) {
          case 'mu_x':
            return add(P('mu_x'), mul(k, add(mul(2, v('mu_x'), P('m_xx')), mul(v('mu_y'), P('m_xy')))));
          case 'mu_y':
            return add(P('mu_y'), mul(k, add(mul(2, v('mu_y'), P('m_yy')), mul(v('mu_x'), P('m_xy')))));
          case 'm_xx':
          case 'm_yy':
          case 'm_xy':
            return div(P(arg), cn);
          default:
            return undefined;
        }
      }),
    };
  },
};
/** (6) The mean over the whole map where the variant crops it (skimage). */
const uncroppedMean: MistakeSpec = {
  kind: 'uncropped-mean',
  title: 'the mean taken over the uncropped SSIM map',
  explanation:
    'This variant averages the SSIM map cropped by (size-1)/2 on each side (skimage), so map pixels near the edges do not count. ' +
    'The candidate differentiates the mean over the whole map (crop 0): it has gradient where the exact one has none and a different 1/count.',
  correctFormula: `${CORRECT}; omega is 1/count on the cropped region and 0 outside it`,
  scaleOnly: () => false,
  plan(a, ctx) {
    const crops = new Set(a.lossBlocks.map((b) => b.crop).filter((c): c is LinearNode => c !== null));
    if (crops.size === 0) return null;
    return {
      // the region's (per-plane constant) adjoint spread over the whole map, at the whole map's count
      transpose(node, adjoint) {
        if (!crops.has(node)) return undefined;
        const [N, C, MH, MW] = node.arg.shape;
        const per = node.shape[2] * node.shape[3];
        // on a pinned tile, the whole images' region over their whole map
        const [, , wh, ww] = wholeShapeOf(ctx, node);
        const [, , WMH, WMW] = wholeShapeOf(ctx, node.arg);
        const k = ctx.whole !== undefined ? ctx.whole.omegaUncropped / ctx.whole.omega : (wh * ww) / (WMH * WMW);
        const out = new Float64Array(N * C * MH * MW);
        for (let p = 0; p < N * C; p++) out.fill(k * adjoint[p * per]!, p * MH * MW, (p + 1) * MH * MW);
        return out;
      },
    };
  },
};

/** (7) The gradient with respect to the other image. */
const otherImage: MistakeSpec = {
  kind: 'other-image',
  title: 'the gradient with respect to the other image',
  explanation:
    'SSIM is symmetric in x and y but its gradient is not: d ssim/dy uses 2y W^T g_yy and x W^T g_xy. The candidate is the gradient ' +
    'with respect to the other image (check the argument order, or --wrt).',
  correctFormula: `${CORRECT}; for y swap the roles: W^T g_mu_y + 2y . W^T g_yy + x . W^T g_xy`,
  scaleOnly: () => false,
  plan: () => ({ otherImage: true }),
};

/** The factor 2 of d(x^2)/dx left out: the square map's partial x instead of 2x. */
const squareFactor: MistakeSpec = {
  kind: 'square-term-factor',
  title: 'the factor 2 of d(x^2)/dx dropped',
  explanation: 'm_xx = W(x . x), so d m_xx / dx brings 2x, not x. The candidate has x . W^T g_xx where 2x . W^T g_xx belongs.',
  correctFormula: CORRECT,
  scaleOnly: () => false,
  plan(a) {
    if (a.moments.length === 0) return null;
    const sq = new Map<number, string>();
    for (const m of a.moments) {
      sq.set(m.square.x.id, Object.keys(m.square.x.args)[0]!);
      sq.set(m.square.y.id, Object.keys(m.square.y.args)[0]!);
    }
    return { partial: (node, arg) => (sq.get(node.id) === arg ? v(arg) : undefined) };
  },
};

/** A windowed map other than S differentiated with S's partials (Wang's exponents, cs's form ignored). */
const ssimPartials: MistakeSpec = {
  kind: 'ssim-map-partials',
  title: "SSIM's partials used for another windowed map",
  explanation:
    'The map windowed here is not S (Wang\'s l^alpha c^beta s^gamma, cs, a map of your own), so its partials over the moments are its own; ' +
    "the candidate takes S's partials dS/d(mu, m_xx, m_xy) in their place, as if the map were SSIM.",
  correctFormula: `${CORRECT}, with F the windowed map in place of S: g_* = omega dF/d(moment)`,
  scaleOnly: () => false,
  plan(a) {
    const S = ssimMap();
    const others = new Set(a.moments.filter((m) => m.map.expr.id !== S.F.id).map((m) => m.map.id));
    if (others.size === 0) return null;
    const partials: Record<string, Node> = { mu_x: S.dX.mu, m_xx: S.dX.sq, m_xy: S.dX.cross, mu_y: S.dY.mu, m_yy: S.dY.sq };
    return { partial: (node, arg) => (others.has(node.id) ? partials[arg] : undefined) };
  },
};

/** SSIM's mistakes, in the order the report lists ties. */
const SSIM_SPECS: readonly MistakeSpec[] = [
  perPixelChainRule,
  meansIndependent,
  ...normalisers,
  signFlipped,
  ...wrongBoundaries,
  forwardAsAdjoint,
  sampleCovarianceDropped,
  uncroppedMean,
  otherImage,
  squareFactor,
];

const wordsOf = (s: MistakeSpec) => ({ kind: s.kind, title: s.title, explanation: s.explanation, correctFormula: s.correctFormula });

/** Every known mistake of SSIM itself (plain SSIM's library), in the order the report lists ties. */
export const KNOWN_MISTAKES: readonly KnownMistake[] = SSIM_SPECS.map((s) => known(s, wordsOf(s), s === signFlipped || normalisers.includes(s)));

// ---- the loss's own mistakes: rewrites of the nodes outside the moment structures ---------------

/** A node's label as an id part: lower case letters, digits and dashes. */
const slug = (label: string): string => label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'node';

/** The loss's own mistakes, found in its graph (`a`: the graph of the images mistakesFor was given). */
function outerMistakes(a0: Anatomy): KnownMistake[] {
  const out: KnownMistake[] = [];
  const seen = new Map<string, number>();
  const unique = (kind: string): string => {
    const k = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, k);
    return k === 1 ? kind : `${kind}-${k}`;
  };
  // a context's graph has the same structure: its nodes are found by their place in the lists
  const mapAt = (i: number, label: string) => (a: Anatomy): MapNode | null => (a.outerMaps[i]?.label === label ? a.outerMaps[i]! : null);
  const add1 = (spec: MistakeSpec, scaleOnly: boolean): void => {
    const kind = unique(spec.kind);
    out.push(known({ ...spec, kind }, { ...wordsOf(spec), kind }, scaleOnly));
  };

  // the maps nearest the loss first: where two rewrites give one gradient (the L1 term left out, or x's branch of |x - y|), the loss's own reading names it
  [...a0.outerMaps.entries()].reverse().forEach(([i, m0]) => {
    const at = mapAt(i, m0.label);
    const name = m0.label;
    const id = slug(name);
    const deps = Object.keys(m0.args).filter((v0) => dependsThrough(m0, v0));
    if (deps.length === 0) return;
    const exactPartial = partialOf;
    const sole = (arg: string): boolean => !a0.depends((n, x) => n.id === m0.id && x.id === m0.args[arg]!.id);
    if (deps.length >= 2) {
      for (const arg of deps) {
        add1(
          {
            kind: `branch-dropped:${id}.${slug(arg)}`,
            title: `the branch through ${arg} of ${name} left out`,
            explanation:
              `${name} reads ${deps.join(', ')}, each of which depends on the image, so its gradient is the sum over them of d ${name}/d arg times ` +
              `the argument's own gradient. The candidate leaves out the share through ${arg}, as if ${arg} were a constant (detached from the graph).`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              // reverse mode hands a block's share to its fine graph's output
              return m === null ? null : { drop: (n, x) => n.id === m.id && x.id === resolved(m.args[arg]!, true).id };
            },
          },
          false,
        );
        add1(
          {
            kind: `branch-sign:${id}.${slug(arg)}`,
            title: `the sign of the branch through ${arg} of ${name} flipped`,
            explanation: `The candidate has the share of the gradient through ${arg} with the opposite sign: d ${name}/d ${arg} taken as its negative (a minus lost in 1 - ${arg}, or put in).`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              return m === null ? null : { partial: (n, x) => (n.id === m.id && x === arg ? neg(exactPartial(m, arg)) : undefined) };
            },
          },
          false,
        );
      }
    }
    for (const arg of deps) {
      const p0 = exactPartial(m0, arg);
      if (p0.op === 'const' && p0.value === 1) continue;
      const constant = variablesOf([p0]).length === 0;
      add1(
        {
          kind: `chain-factor-dropped:${id}.${slug(arg)}`,
          title: `d ${name}/d ${arg} left out of the chain rule`,
          explanation:
            `${name} is a function of ${Object.keys(m0.args).join(', ')}, so the gradient reaching ${arg} carries d ${name}/d ${arg}. ` +
            `The candidate passes the gradient through as if ${name} were ${arg} itself (the factor taken as 1).`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => constant && sole(arg),
          plan: (a) => {
            const m = at(a);
            return m === null ? null : { partial: (n, x) => (n.id === m.id && x === arg ? num(1) : undefined) };
          },
        },
        constant && sole(arg),
      );
    }
    // a constant factor -k (k != 1) taken as -1: the divisor of (1 - s)/d forgotten, the weight of a term left out
    for (const arg of deps) {
      const p0 = exactPartial(m0, arg);
      if (p0.op !== 'const' || !(p0.value < 0) || p0.value === -1) continue;
      const ok = sole(arg);
      add1(
        {
          kind: `chain-factor-scale-dropped:${id}.${slug(arg)}`,
          title: `the constant of d ${name}/d ${arg} = ${p0.value} left out (only its sign kept)`,
          explanation:
            `d ${name}/d ${arg} is the constant ${p0.value}: a sign and a factor ${-p0.value} (a divisor, a weight). The candidate keeps the sign and forgets the factor.`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => ok,
          plan: (a) => {
            const m = at(a);
            return m === null ? null : { partial: (n, x) => (n.id === m.id && x === arg ? num(-1) : undefined) };
          },
        },
        ok,
      );
    }
    // two branches with constant weights: the weights swapped (lambda and 1 - lambda of a weighted sum)
    if (deps.length === 2) {
      const [p1, p2] = deps.map((arg) => exactPartial(m0, arg));
      if (p1!.op === 'const' && p2!.op === 'const' && Math.abs(p1!.value) !== Math.abs(p2!.value) && p1!.value !== 0 && p2!.value !== 0) {
        const swapped: Record<string, number> = { [deps[0]!]: Math.sign(p1!.value) * Math.abs(p2!.value), [deps[1]!]: Math.sign(p2!.value) * Math.abs(p1!.value) };
        add1(
          {
            kind: `weights-swapped:${id}`,
            title: `the weights of ${deps.join(' and ')} in ${name} swapped`,
            explanation:
              `d ${name}/d ${deps[0]} = ${p1!.value} and d ${name}/d ${deps[1]} = ${p2!.value}: each branch carries its own weight. ` +
              `The candidate weights each branch by the other's (${swapped[deps[0]!]} and ${swapped[deps[1]!]}).`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              return m === null ? null : { partial: (n, x) => (n.id === m.id && x in swapped ? num(swapped[x]!) : undefined) };
            },
          },
          false,
        );
      }
    }
    // a product of factors each over its own arguments: the product rule's other factors left out
    if (m0.expr.op === 'mul' && deps.length >= 2) {
      const factorsOf = (m: MapNode, arg: string): Node[] => m.expr.args.filter((f) => variablesOf([f]).includes(arg));
      const separate = deps.every((arg) => factorsOf(m0, arg).every((f) => [...variablesOf([f])].every((u) => u === arg || !deps.includes(u))));
      if (separate) {
        add1(
          {
            kind: `product-rule-dropped:${id}`,
            title: `${name} differentiated as a sum of its factors (the product rule's other factors left out)`,
            explanation:
              `${name} is a product of factors over ${deps.join(', ')}, so by the product rule d/d(one argument) carries every other factor. ` +
              `The candidate differentiates each factor alone, as if ${name} were their sum.`,
            correctFormula: GRAPH_CORRECT,
            scaleOnly: () => false,
            plan: (a) => {
              const m = at(a);
              if (m === null) return null;
              return {
                partial: (n, x) => {
                  if (n.id !== m.id || !deps.includes(x)) return undefined;
                  const own = factorsOf(m, x);
                  return grad(own.length === 1 ? own[0]! : mul(...own), [variable(x)])[0]!;
                },
              };
            },
          },
          false,
        );
      }
    }
  });

  // linear operators outside the windows (pooling, downsampling, channel mixes, a user's window), by kind
  const kinds = [...new Set(a0.outerLinear.map((n) => n.spec.kind))];
  for (const kind of kinds) {
    const rule = LINEAR_RULES[kind];
    const nodesOf = (a: Anatomy): Set<LinearNode> => new Set(a.outerLinear.filter((n) => n.spec.kind === kind));
    const sole = !a0.depends((n) => n.kind === 'linear' && n.spec.kind === kind && a0.outerLinear.includes(n));
    add1(
      {
        kind: `transpose-dropped:${kind}`,
        title: `what passes through ${rule.symbol} (${kind}) left out: its transpose missing`,
        explanation:
          `Everything computed after ${rule.symbol} (which ${rule.forward}) depends on the image through it, so its share of the gradient must come back ` +
          `through ${rule.symbol}^T, which ${rule.transpose}. The candidate leaves that share out, as if the output of ${rule.symbol} were detached from the graph.`,
        correctFormula: GRAPH_CORRECT,
        scaleOnly: () => false,
        plan: (a) => {
          const nodes = nodesOf(a);
          return nodes.size === 0 ? null : { drop: (n) => n.kind === 'linear' && nodes.has(n) };
        },
      },
      false,
    );
    // an operator from a grid to the same grid (a channel mix, a window of the user's): the forward used as its own transpose
    const square = (n: LinearNode): boolean => n.shape.join() === n.arg.shape.join();
    if (a0.outerLinear.some((n) => n.spec.kind === kind && square(n))) {
      add1(
        {
          kind: `forward-as-transpose:${kind}`,
          title: `${rule.symbol} used as its own transpose`,
          explanation:
            `${rule.symbol} ${rule.forward}; what comes back through it must go through its transpose, which ${rule.transpose}. ` +
            `The candidate applies ${rule.symbol} itself, which is its transpose only where it is symmetric.`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => false,
          plan: (a) => {
            const nodes = new Set([...nodesOf(a)].filter(square));
            return nodes.size === 0 ? null : { transpose: (n, adjoint) => (nodes.has(n) ? n.op.apply(adjoint) : undefined) };
          },
        },
        false,
      );
    }
    const unnormalised = (n: LinearNode): number | null => (n.spec.kind === 'pool' ? 4 : n.spec.kind === 'downsample' ? n.spec.f * n.spec.f : null);
    if (a0.outerLinear.some((n) => n.spec.kind === kind && unnormalised(n) !== null)) {
      add1(
        {
          kind: `transpose-unnormalised:${kind}`,
          title: `${rule.symbol}^T without its normalisation: plain upsampling`,
          explanation:
            `${rule.symbol} ${rule.forward}: each input pixel enters with the weight 1/(the block's size), so its transpose ${rule.transpose}, with that weight. ` +
            `The candidate copies each value into its block without it (nearest-neighbour upsampling), so what comes back through ${rule.symbol} is too large by the block's size.`,
          correctFormula: GRAPH_CORRECT,
          scaleOnly: () => sole,
          plan: (a) => {
            const nodes = nodesOf(a);
            return nodes.size === 0
              ? null
              : { transpose: (n, adjoint, exact) => (nodes.has(n) ? exact(adjoint).map((u) => u * unnormalised(n)!) : undefined) };
          },
        },
        sole,
      );
    }
  }

  // means outside the blocks (a variant's own L1 term, MS-SSIM's mean over planes, a weighted mean)
  a0.outerReduces.forEach((r0, i) => {
    if (r0.how !== 'mean' && r0.how !== 'planeMean') return;
    const label = r0.arg.label;
    const sole = !a0.depends((n) => n.id === r0.id);
    add1(
      {
        kind: `mean-count-dropped:${slug(label)}`,
        title: `the mean of ${label} differentiated as a sum (its 1/count left out)`,
        explanation: `The mean of ${label} averages its values, so d/d(each value) is 1/count. The candidate differentiates their sum: this share of the gradient is count times too large.`,
        correctFormula: GRAPH_CORRECT,
        scaleOnly: () => sole,
        plan: (a) => {
          const r = a.outerReduces[i];
          return r === undefined || r.arg.label !== label ? null : { count: (n) => (n.id === r.id ? 1 : undefined) };
        },
      },
      sole,
    );
  });
  return out;
}

/**
 * The mistakes a candidate for this loss is compared with: plain SSIM's library as it is; for any
 * other variant (a built-in or a user's declaration) SSIM's mistakes made inside its windowed maps
 * (kinds `<variant>/<kind>`), the loss's own, the sign and the other image.
 */
export function mistakesFor(x: Tensor, y: Tensor, options: VariantOptions): readonly KnownMistake[] {
  const a0 = anatomyOf(variantGraph(x, y, options));
  if (a0.plain && a0.outerMaps.length === 0 && a0.outerReduces.length === 0 && a0.outerLinear.length === 0) return KNOWN_MISTAKES;
  const name = a0.name;
  const atLoss = (s: MistakeSpec): boolean => s === signFlipped || s === otherImage;
  const words = (s: MistakeSpec) =>
    a0.plain
      ? wordsOf(s)
      : s === otherImage
        ? wordsOf(s)
        : s === signFlipped
          ? {
              ...wordsOf(s),
              title: `sign flipped: minus the gradient of ${name}`,
              explanation: `The candidate is minus the exact gradient of ${name} (a loss and its negative, or a minus lost in the chain rule). If it is meant to be the gradient of -${name}, negate it to check it.`,
              correctFormula: GRAPH_CORRECT,
            }
          : {
              kind: `${name}/${s.kind}`,
              title: `inside ${name}, ${s.title}`,
              explanation: `${s.explanation} (Here inside ${name}: the rest of its chain rule is exact.)`,
              correctFormula: `${s.correctFormula}; the rest of ${name}'s gradient: ${GRAPH_CORRECT}`,
            };
  const specs = [...SSIM_SPECS, ssimPartials];
  const ssim = specs.map((s) => known(s, words(s), s.scaleOnly(a0)));
  // plain SSIM keeps its library's order; a variant lists the whole loss's and its own nodes' first (where two give one
  // gradient, dssim's 1/2 forgotten and SSIM's mean over H x W with N C = 2, the loss's own reading names it)
  if (a0.plain) return [...ssim, ...outerMistakes(a0)];
  return [...ssim.filter((_, i) => atLoss(specs[i]!)), ...outerMistakes(a0), ...ssim.filter((_, i) => !atLoss(specs[i]!))];
}

/**
 * The known mistakes that tell something here, with their gradients: those that apply to the
 * configuration, differ from the exact gradient (beyond 1e-12 relative) and from every earlier
 * one (a crop can make boundary transposes coincide; N = 1 makes two normalisers one).
 */
export function applicableMistakes(
  ctx: MistakeContext,
  exact: Float64Array,
  library: readonly KnownMistake[] = KNOWN_MISTAKES,
): Array<{ mistake: KnownMistake; gradient: Float64Array }> {
  return distinctMistakes(library.map((mistake) => ({ mistake, gradient: mistake.build(ctx) })), exact);
}

/**
 * The mistakes with a gradient (not null) that differs from the exact gradient (beyond 1e-12
 * relative) and from every earlier one, in order: applicableMistakes' rule, also applied to the
 * checker's subsample (the gradients there being the strips' values put end to end).
 */
export function distinctMistakes(
  built: ReadonlyArray<{ mistake: KnownMistake; gradient: Float64Array | null }>,
  exact: Float64Array,
): Array<{ mistake: KnownMistake; gradient: Float64Array }> {
  const out: Array<{ mistake: KnownMistake; gradient: Float64Array }> = [];
  const same = (a: Float64Array, b: Float64Array): boolean => {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      d += (a[i]! - b[i]!) ** 2;
      na += a[i]! ** 2;
      nb += b[i]! ** 2;
    }
    return Math.sqrt(d) <= 1e-12 * Math.sqrt(Math.max(na, nb));
  };
  for (const { mistake, gradient } of built) {
    if (gradient === null || same(gradient, exact) || out.some((o) => same(o.gradient, gradient))) continue;
    out.push({ mistake, gradient });
  }
  return out;
}

/**
 * The exact gradient's three terms with the map's partials rebuilt from S over the central
 * statistics (check/central.ts) through var = c_n (m_xx - mu^2), cov = c_n (m_xy - mu_x mu_y):
 * a self-check of the central graph, run as a rewrite of the graph's partials (it must give the
 * exact terms back).
 */
export function exactFromCentral(ctx: MistakeContext): GradientTerms {
  const c = centralSsim();
  const [mx, my, xx, yy, xy, cn] = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy', 'c_n'].map(v) as [Node, Node, Node, Node, Node, Node];
  const at = new Map<string, Node>([
    ['var_x', mul(cn, add(xx, neg(mul(mx, mx))))],
    ['var_y', mul(cn, add(yy, neg(mul(my, my))))],
    ['cov', mul(cn, add(xy, neg(mul(mx, my))))],
  ]);
  const [dmx, dmy, dvx, dvy, dc] = substitute([c.partials.mu_x, c.partials.mu_y, c.partials.var_x, c.partials.var_y, c.partials.cov], at) as [Node, Node, Node, Node, Node];
  const raw: Readonly<Record<string, Node>> = {
    mu_x: add(dmx, mul(-2, cn, mx, dvx), mul(-1, cn, my, dc)),
    mu_y: add(dmy, mul(-2, cn, my, dvy), mul(-1, cn, mx, dc)),
    m_xx: mul(cn, dvx),
    m_yy: mul(cn, dvy),
    m_xy: mul(cn, dc),
  };
  const a = anatomy(ctx);
  const r = run(ctx, a, { partial: momentPartials(a, (arg) => raw[arg]) }, true);
  if (r === null || r.terms === null) throw new Error('exactFromCentral: the graph windows no single map of the moments');
  return r.terms;
}

/**
 * The known mistakes of a variant named by its name (or declaration) alone: its graph's library
 * (mistakesFor) enumerated on sample images of a size its options accept. Each mistake is then
 * evaluated on the images of the context it is given; mistakesFor(x, y, options) gives the same
 * library for given images.
 */
export function variantMistakes(variant: string | VariantDeclaration, options: VariantOptions = {}): readonly KnownMistake[] {
  let last: unknown;
  for (const side of [32, 96, 192, 400]) {
    const n = side * side;
    const x = { shape: [1, 1, side, side], data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 7)) };
    const y = { shape: [1, 1, side, side], data: Float64Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 7 + 0.3)) };
    try {
      return mistakesFor(x, y, { dataRange: 1, ...options, variant });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      last = e;
    }
  }
  throw last;
}

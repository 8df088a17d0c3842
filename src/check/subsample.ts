/**
 * The checker's subsample for large images: the known mistakes and the term fit are evaluated on
 * a few tiles (16 x 64 at the corners, the middle of each edge and the centre of up to four
 * planes, pinned tiles at the corners and the centre; full-width strips where the image is too
 * narrow for three tiles across) instead of the whole images, so that their cost no longer grows with the image; the verdict, the floor, the
 * errors, the regions and the scale fit still use the whole images.
 *
 * Why a tile gives the whole images' values exactly: the window is separable, and along each axis
 * the gradient at pixel p reads the map pixels whose windows cover p (within r = (taps - 1)/2 of
 * p, or k - 1 before p under 'valid'), each of which reads the image within r of itself, so p's
 * gradient depends only on the pixels within 2r of p; a crop of c map pixels at a tile's cut edge
 * takes c more. A tile cut out with a halo of 2r + c pixels beyond the ones it keeps (nothing
 * beyond a true edge of the image, where the boundary rule applies as it does on the whole image)
 * computes, at the kept pixels, the whole images' gradients times one factor: the ratio rho of the
 * whole images' weight omega of a map pixel to the tile's. Every mistake built on the tile is
 * scaled by rho; those that change a normaliser take the whole images' counts
 * (MistakeContext.whole). The report carries how well the tiles reproduce the exact gradient
 * (exactAgreement: rounding only). Types and functions keep the name "strip" (a tile as wide as
 * the image is one).
 *
 * A variant that does not tile by rho (MS-SSIM: its plane means at every scale couple every pixel
 * of a plane, and the product of the scales weighs each pixel's share by the others; MATLAB's
 * downsampling) is tiled by pinning (pinnedContext): the tile's graph takes the whole images'
 * values at every node after a mean and the whole images' count at every mean, and its halo is
 * the receptive field of the graph's local nodes (receptiveField: each pooling doubles the stride,
 * so five scales of an 11-tap window reach 16 x 11 - 1 = 175 pixels), its cuts aligned to the
 * strides so that the tile pools and downsamples on the whole images' grid.
 */
import { InputError, shape4, type Shape4, type Tensor } from '../field/index.js';
import { downsampleFactor, mapGeometry, resolveOptions, type SsimConfig } from '../model/options.js';
import { evaluateSsim, ssimFast, ssimGradFast, type GradientTerms, type SsimEvaluation, type SsimOptions, type VariantOptions } from '../runtime/index.js';
import { reduceCount } from '../graph/adjoint.js';
import { evaluateGraph } from '../graph/evaluate.js';
import { argsOf, resolved, topoOrder, type BlockNode, type FieldNode } from '../graph/node.js';
import { imageInputs } from '../graph/ssim.js';
import { graphKit } from '../variants/kit.js';
import { plainSsimOf, variantGraph } from '../variants/evaluate.js';
import { BUILT_IN_VARIANTS, findVariant, resolveVariant, type VariantRef } from '../variants/registry.js';
import type { MistakeContext, TilePins, WholeCounts } from '../mistakes/context.js';
import { amendPieces, computedBySsimKernels, plainOptions, pullBack, shares, variantPieces } from './variant-model.js';
import { BLOCK_KERNELS } from '../runtime/blocks.js';

/** When and how the checker subsamples (tests set smaller values to subsample small images). */
export interface SubsampleOptions {
  /** Images of fewer values (N C H W) are checked whole. */
  readonly minValues?: number;
  /** Rows kept per tile. */
  readonly stripRows?: number;
  /** Columns kept per tile (tiles are as wide as the image when three of them and their halos would cover half its width). */
  readonly stripCols?: number;
  /** At most this many planes (N C) carry strips, evenly spaced, the first and the last among them. */
  readonly maxPlanes?: number;
  /** The most of each axis the cuts (kept pixels and halos) may cover, or the images are checked whole. */
  readonly maxCoverage?: number;
}

/** The defaults: whole images up to 2^20 values (3 x 590 x 590), then tiles of 16 x 64. */
export const SUBSAMPLE_DEFAULTS: Required<SubsampleOptions> = { minValues: 2 ** 20, stripRows: 16, stripCols: 64, maxPlanes: 4, maxCoverage: 0.5 };

/**
 * Whether a variant's exact gradient and mistakes a tile reproduces: its declaration says so
 * (`tiles`, src/variants/types.ts): the part through its windowed map scales with omega alone,
 * the rest (the 3DGS loss's L1 term, 1/N of the values, not omega) is rescaled on the tile
 * (stripContext). Not MS-SSIM: its plane means couple every pixel of a plane at every scale.
 */
export function tiles(variant: VariantRef): boolean {
  const d = findVariant(variant);
  // a tile cuts x and y only: a variant that reads a field option (a mask) is checked whole
  return d.tiles === true && !Object.values(d.options ?? {}).some((o) => o.kind === 'field');
}

/** The built-in variants that tile by rho (those whose declaration sets `tiles`; the others tile by pinning). */
export const SUBSAMPLED_VARIANTS: readonly string[] = BUILT_IN_VARIANTS.filter((v) => v.tiles === true).map((v) => v.name);

/**
 * One tile: rows [cut0, cut1) x columns [cutCols0, cutCols1) of plane `plane` cut out, rows
 * [keep0, keep1) x columns [keepCols0, keepCols1) of it kept (image coordinates). A tile as wide
 * as the image is a strip.
 */
export interface Strip {
  readonly plane: number;
  readonly cut: readonly [number, number];
  readonly keep: readonly [number, number];
  readonly cutCols: readonly [number, number];
  readonly keepCols: readonly [number, number];
}

/** The strips and what they cover. */
export interface SubsamplePlan {
  readonly shape: Shape4;
  readonly strips: readonly Strip[];
  /** Rows cut beyond the kept ones at an inner edge: 2r + crop. */
  readonly halo: number;
  /** Values kept (compared), and values of the whole images. */
  readonly kept: number;
  readonly total: number;
  /** The whole images' counts for the strips' mistake contexts. */
  readonly whole: WholeCounts;
  /**
   * Set when the tiles are evaluated with the whole images' per-plane and scalar values pinned
   * (pinnedContext: MS-SSIM, MATLAB's downsampling, any graph of local operators and means):
   * the options a tile's graph is built with (the whole images' downsampling factor), and the
   * alignment of the cuts (every pooling's and downsampling's stride). Absent: rho (stripContext).
   */
  readonly pinned?: { readonly options: VariantOptions; readonly align: number };
}

/** Evenly spaced indices 0 .. n-1, at most m of them, the first and the last included. */
function spread(n: number, m: number): number[] {
  if (n <= m) return Array.from({ length: n }, (_, i) => i);
  // one plane: the first (the spacing below divides by m - 1)
  if (m <= 1) return [0];
  const out = Array.from({ length: m }, (_, i) => Math.round((i * (n - 1)) / (m - 1)));
  return [...new Set(out)];
}

/**
 * The strips for images of `shape` under `config`, or null when the images are checked whole:
 * small images, a variant with a field option, images too short for the strips and their halos
 * to cover less than half of each plane (maxCoverage), or (without `variantOptions`) a variant that
 * does not tile by rho. A variant that tiles (its declaration's `tiles`) without downsampling is cut
 * with a halo of 2r + crop and rescaled by rho (stripContext); any other graph of local operators
 * and means (MS-SSIM, MATLAB's downsampling) with the halo its receptive field needs, cuts aligned
 * to its strides, and the whole images' per-plane and scalar values pinned (pinnedContext).
 */
export function planSubsample(shape: Shape4, config: SsimConfig, variant: VariantRef, opts: SubsampleOptions = {}, variantOptions?: VariantOptions): SubsamplePlan | null {
  const o = { ...SUBSAMPLE_DEFAULTS, ...opts };
  const [N, C, H, W] = shape;
  const total = N * C * H * W;
  if (total < o.minValues) return null;
  const d = findVariant(variant);
  if (Object.values(d.options ?? {}).some((opt) => opt.kind === 'field')) return null;
  const f = downsampleFactor(config, H, W);
  const rho = tiles(variant) && f === 1;
  let reach: { rows: Reach; cols: Reach; align: number } | null = null;
  let pinnedOptions: VariantOptions | undefined;
  if (!rho) {
    if (variantOptions === undefined) return null;
    // the tiles' graphs take the whole images' downsampling factor (not their own)
    pinnedOptions = config.downsample === 'auto' ? { ...variantOptions, downsample: f } : variantOptions;
    try {
      reach = receptiveField(topoOrder([lossGraph(shape, pinnedOptions)], true));
    } catch (e) {
      if (e instanceof InputError) return null;
      throw e;
    }
    if (reach === null) return null;
  }
  const [h, w] = [Math.ceil(H / f), Math.ceil(W / f)];
  const k = Math.max(config.size, config.taps.length);
  if (h < k || w < k) return null;
  const align = reach?.align ?? 1;
  const haloRows = reach === null ? config.taps.length - 1 + config.crop : reach.rows.hi - reach.rows.lo;
  const haloCols = reach === null ? haloRows : reach.cols.hi - reach.cols.lo;
  // along an axis of length n: the first, middle and last `m` indices, each with its halo (or null: too short);
  // cuts start at a multiple of the alignment and end where the rest of the axis is one (or at its end)
  const bands = (n: number, m: number, halo: number) => {
    const starts = [...new Set([0, Math.floor((n - m) / 2), n - m])];
    const cuts = starts.map((s): [number, number] => {
      const c0 = Math.max(0, Math.floor((s - halo) / align) * align);
      const e = s + m + halo;
      const c1 = e >= n ? n : Math.min(n, e + ((((n - e) % align) + align) % align));
      return [c0, c1];
    });
    if (m < 1 || cuts.reduce((a, [c0, c1]) => a + c1 - c0, 0) > o.maxCoverage * n) return null;
    return starts.map((s, i) => ({ keep: [s, s + m] as [number, number], cut: cuts[i]! }));
  };
  const rowBands = bands(H, o.stripRows, haloRows);
  if (rowBands === null) return null;
  // columns: the first, middle and last stripCols, or the whole width
  const colBands = bands(W, o.stripCols, haloCols) ?? [{ keep: [0, W] as [number, number], cut: [0, W] as [number, number] }];
  const strips: Strip[] = [];
  // pinned tiles carry the halo of every scale (175 pixels for MS-SSIM's five): the corners and the centre only, the
  // corners holding every edge (the middle of an edge adds no boundary the corners do not have); strips: all three
  const edgeMiddle = (ri: number, ci: number): boolean => colBands.length === 3 && rowBands.length === 3 && (ri === 1) !== (ci === 1);
  for (const plane of spread(N * C, o.maxPlanes)) {
    rowBands.forEach((r, ri) => colBands.forEach((c, ci) => {
      if (pinnedOptions === undefined || !edgeMiddle(ri, ci)) strips.push({ plane, cut: r.cut, keep: r.keep, cutCols: c.cut, keepCols: c.keep });
    }));
  }
  if (pinnedOptions !== undefined) {
    // every tile's graph must be the whole images' node for node (a variant whose graph depends on the size is checked whole)
    const wholeOrder = topoOrder([lossGraph(shape, pinnedOptions)], true);
    for (const key of new Set(strips.map((t) => `${t.cut[1] - t.cut[0]}x${t.cutCols[1] - t.cutCols[0]}`))) {
      const [th, tw] = key.split('x').map(Number) as [number, number];
      try {
        if (matchNodes(topoOrder([lossGraph([1, 1, th, tw], pinnedOptions)], true), wholeOrder) === null) return null;
      } catch (e) {
        if (e instanceof InputError) return null;
        throw e;
      }
    }
  }
  const g = mapGeometry(config, h, w, 1, N * C);
  const g0 = mapGeometry({ ...config, crop: 0 }, h, w, 1, N * C);
  const whole: WholeCounts = { N, C, RH: g.MH - 2 * g.crop, RW: g.MW - 2 * g.crop, H: h, W: w, omega: g.omega, omegaUncropped: g0.omega };
  const kept = strips.reduce((a, t) => a + (t.keep[1] - t.keep[0]) * (t.keepCols[1] - t.keepCols[0]), 0);
  return {
    shape, strips, halo: Math.max(haloRows, haloCols), kept, total, whole,
    ...(pinnedOptions !== undefined ? { pinned: { options: pinnedOptions, align } } : {}),
  };
}

/** Along one axis: a node's pixel i depends on the input pixels a i + lo ... a i + hi. */
interface Reach {
  readonly a: number;
  readonly lo: number;
  readonly hi: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The receptive field of a graph's local nodes (those before any mean), per axis, and the
 * alignment its strides need; null when the graph has a node the tiles cannot follow (an input
 * other than the images, a map of fields on different grids, a linear operator of a mean).
 * A pixel's gradient depends on the input within max(hi - lo) of it: every local node's pixel
 * whose inputs cover it reads no further than that.
 */
function receptiveField(order: readonly FieldNode[]): { rows: Reach; cols: Reach; align: number } | null {
  const at = new Map<number, { rows: Reach; cols: Reach } | 'global'>();
  let rows: Reach = { a: 1, lo: 0, hi: 0 };
  let cols: Reach = { a: 1, lo: 0, hi: 0 };
  let align = 1;
  const step = (r: Reach, n: FieldNode & { kind: 'linear' }, axis: 2 | 3): Reach => {
    const s = n.spec;
    const len = n.arg.shape[axis];
    switch (s.kind) {
      case 'window': {
        const k = s.taps.length;
        if (s.boundary === 'valid') return { a: r.a, lo: r.lo, hi: r.hi + r.a * (k - 1) };
        const h = (k - 1) / 2;
        return { a: r.a, lo: r.lo - r.a * h, hi: r.hi + r.a * h };
      }
      case 'crop': {
        const c = axis === 2 ? s.top : s.left;
        return { a: r.a, lo: r.lo + r.a * c, hi: r.hi + r.a * c };
      }
      case 'pool': {
        const pad = s.mode === 'zero' ? len % 2 : 0;
        return { a: 2 * r.a, lo: r.lo - r.a * pad, hi: r.hi + r.a * (1 - pad) };
      }
      case 'downsample': {
        const origin = Math.floor((s.f + 1) / 2) - 1;
        return { a: s.f * r.a, lo: r.lo - r.a * origin, hi: r.hi + r.a * (s.f - 1 - origin) };
      }
      case 'channels':
        // a channel mix couples the planes (a tile is one plane): null below
        return r;
    }
  };
  for (const n of order) {
    let v: { rows: Reach; cols: Reach } | 'global';
    if (n.kind === 'input') {
      if (n.name !== 'x' && n.name !== 'y') return null;
      v = { rows: { a: 1, lo: 0, hi: 0 }, cols: { a: 1, lo: 0, hi: 0 } };
    } else if (n.kind === 'reduce') v = 'global';
    else if (n.kind === 'linear') {
      const b = at.get(resolved(n.arg, true).id)!;
      if (b === 'global') return null;
      v = { rows: step(b.rows, n, 2), cols: step(b.cols, n, 3) };
    } else if (n.kind === 'map') {
      const local = argsOf(n).map((g) => at.get(resolved(g, true).id)!).filter((g): g is { rows: Reach; cols: Reach } => g !== 'global');
      if (local.length === 0) v = 'global';
      else {
        if (local.some((g) => g.rows.a !== local[0]!.rows.a || g.cols.a !== local[0]!.cols.a)) return null;
        const join = (k: 'rows' | 'cols'): Reach => ({ a: local[0]![k].a, lo: Math.min(...local.map((g) => g[k].lo)), hi: Math.max(...local.map((g) => g[k].hi)) });
        v = { rows: join('rows'), cols: join('cols') };
      }
    } else return null;
    at.set(n.id, v);
    if (v === 'global') continue;
    const wider = (p: Reach, q: Reach): Reach => (q.hi - q.lo > p.hi - p.lo ? q : p);
    rows = wider(rows, v.rows);
    cols = wider(cols, v.cols);
    align = (align * v.rows.a) / gcd(align, v.rows.a);
    align = (align * v.cols.a) / gcd(align, v.cols.a);
  }
  return { rows, cols, align };
}

/**
 * A variant's loss for images of `shape` (the graph variantGraph builds, without reading any
 * image): what the plan reads the receptive field and the node structure from.
 */
function lossGraph(shape: Shape4, options: VariantOptions): FieldNode {
  const variant = resolveVariant(options);
  const config = resolveOptions(variant.ssimOptions);
  const img = imageInputs(shape, config);
  return variant.decl.loss({ x: img.xs, y: img.ys, fields: {}, values: variant.values, config, ssimOptions: variant.ssimOptions, g: graphKit(config, variant.ssimOptions, img.f) });
}

/** The tile's nodes paired with the whole images' (same kinds, labels and operators, in order), or null. */
function matchNodes(tile: readonly FieldNode[], whole: readonly FieldNode[]): FieldNode[] | null {
  if (tile.length !== whole.length) return null;
  for (let i = 0; i < tile.length; i++) {
    const t = tile[i]!;
    const w = whole[i]!;
    if (t.kind !== w.kind || t.label !== w.label) return null;
    if (t.kind === 'linear' && w.kind === 'linear') {
      if (t.spec.kind !== w.spec.kind) return null;
      // a window that skips a short axis on one and not the other is another operator
      if (t.spec.kind === 'window' && w.spec.kind === 'window') {
        const k = t.spec.taps.length;
        if ((t.arg.shape[2] < k) !== (w.arg.shape[2] < k) || (t.arg.shape[3] < k) !== (w.arg.shape[3] < k)) return null;
      }
    }
  }
  return [...whole];
}

/** The plan for tensors x, y (null: check them whole). */
export function planFor(x: Tensor, config: SsimConfig, variant: VariantRef, opts?: SubsampleOptions, variantOptions?: VariantOptions): SubsamplePlan | null {
  return planSubsample(shape4(x, 'x'), config, variant, opts, variantOptions);
}

/** A tile's cut of one plane as a 1 x 1 x rows x cols tensor (a view when it is whole rows of typed data). */
export function cutStrip(t: Tensor, shape: Shape4, s: Strip): Tensor {
  const [, , H, W] = shape;
  const [r0, r1] = s.cut;
  const [c0, c1] = s.cutCols;
  const w = c1 - c0;
  const d = t.data;
  if (w === W && (d instanceof Float64Array || d instanceof Float32Array)) {
    return { shape: [1, 1, r1 - r0, W], data: d.subarray((s.plane * H + r0) * W, (s.plane * H + r1) * W) };
  }
  const out = new Float64Array((r1 - r0) * w);
  for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) out[(i - r0) * w + j - c0] = d[(s.plane * H + i) * W + j]!;
  return { shape: [1, 1, r1 - r0, w], data: out };
}

/** A kept row of a tile: where it starts in the whole images and in the tile's own tensor, and its length. */
export interface KeptRun {
  readonly whole: number;
  readonly strip: number;
  readonly length: number;
}

/** The tile's kept values, one run per kept row, in order. */
export function keptRuns(shape: Shape4, s: Strip): KeptRun[] {
  const [, , H, W] = shape;
  const w = s.cutCols[1] - s.cutCols[0];
  const length = s.keepCols[1] - s.keepCols[0];
  const runs: KeptRun[] = [];
  for (let i = s.keep[0]; i < s.keep[1]; i++) {
    runs.push({ whole: (s.plane * H + i) * W + s.keepCols[0], strip: (i - s.cut[0]) * w + s.keepCols[0] - s.cutCols[0], length });
  }
  return runs;
}

/** The kept values of `a` (an array over the whole images, or over the tile's tensor), end to end. */
export function takeKept(a: ArrayLike<number>, runs: readonly KeptRun[], from: 'whole' | 'strip', k = 1): Float64Array {
  const out = new Float64Array(runs.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of runs) for (let q = 0; q < r.length; q++) out[o++] = k * a[r[from] + q]!;
  return out;
}

/** One line for the report: what the subsample is. */
export function describeSubsample(p: SubsamplePlan): string {
  const planes = [...new Set(p.strips.map((s) => s.plane))];
  const t0 = p.strips[0]!;
  const range = (a: readonly [number, number]): string => `${a[0]}-${a[1] - 1}`;
  const rows = [...new Set(p.strips.map((s) => range(s.keep)))];
  const cols = [...new Set(p.strips.map((s) => range(s.keepCols)))];
  const fullWidth = t0.keepCols[1] - t0.keepCols[0] === p.shape[3];
  const what = fullWidth
    ? `${p.strips.length} strips of ${t0.keep[1] - t0.keep[0]} full-width rows (rows ${rows.join(', ')}`
    : `${p.strips.length} tiles of ${t0.keep[1] - t0.keep[0]} x ${t0.keepCols[1] - t0.keepCols[0]} (rows ${rows.join(', ')} x columns ${cols.join(', ')}`;
  const halo = p.pinned === undefined
    ? `each cut with ${p.halo} pixels of halo so its values are the whole images'`
    : `each cut with ${p.halo} pixels of halo (the reach of every scale and downsampling), aligned to ${p.pinned.align} pixels, and the whole images' per-plane means and scalars pinned, so its values are the whole images'`;
  return (
    `known mistakes and the term fit on ${what} of plane${planes.length > 1 ? 's' : ''} ${planes.join(', ')}; ${p.kept} of ${p.total} values, ` +
    `${halo}); the verdict, floor, errors, regions and scale use the whole images`
  );
}

/**
 * A strip's mistake context, with rho (the whole images' omega over the strip's) and the strip's
 * exact gradient, chain-rule terms and the part outside them (the 3DGS loss's L1 term, else null):
 * rho times any of the strip's gradients, at its kept rows,
 * is the whole images' (the module comment says why).
 */
export function stripContext(
  input: { readonly x: Tensor; readonly y: Tensor; readonly options: VariantOptions; readonly wrt: 'x' | 'y' },
  ssimOptions: SsimOptions,
  plan: SubsamplePlan,
  s: Strip,
): { ctx: MistakeContext; rho: number; exact: Float64Array; terms: GradientTerms; offset: Float64Array | null } {
  const { wrt } = input;
  const xs = cutStrip(input.x, plan.shape, s);
  const ys = cutStrip(input.y, plan.shape, s);
  const e = evaluateSsim(xs, ys, ssimOptions);
  const rho = plan.whole.omega / e.weights.find((w) => w > 0)!;
  const ssimTerms = (): GradientTerms => (wrt === 'x' ? e.termsX : e.termsY);
  let pieces = computedBySsimKernels(input.options) ? undefined : variantPieces(xs, ys, input.options, wrt);
  if (pieces?.offset != null) {
    // the part outside the windowed map (the 3DGS loss's L1 term) carries 1/N of the values, not omega:
    // put it in the whole images' scale over rho
    const [N, C, H, W] = plan.shape;
    const kappa = xs.data.length / (N * C * H * W) / rho;
    const sub = pieces.offset;
    const offset = sub.map((v) => kappa * v);
    pieces = amendPieces(pieces, { offset, exact: pieces.exact.map((v, i) => v - sub[i]! + offset[i]!) });
  }
  const ctx: MistakeContext = { x: xs, y: ys, options: ssimOptions, e, wrt, whole: plan.whole, ...(pieces !== undefined ? { pieces } : {}) };
  return { ctx, rho, exact: pieces?.exact ?? (wrt === 'x' ? e.gradX : e.gradY), terms: pieces?.terms ?? ssimTerms(), offset: pieces?.offset ?? null };
}

/** The whole images' evaluation pinned tiles read: the loss's graph (blocks expanded, in order), its values, and the exact gradient. */
export interface WholeRun {
  readonly loss: FieldNode;
  readonly order: readonly FieldNode[];
  /** Every per-plane and scalar node's value (a block's by the block: it ran on its kernels). */
  readonly values: ReadonlyMap<number, Float64Array>;
  /** The exact gradient wrt the side asked for, the loss's value and SSIM of the images. */
  readonly exact: Float64Array;
  readonly value: number;
  readonly ssim: number;
}

/**
 * The whole images' graph under the plan's options, run once for the exact gradient wrt `side`.
 * Plain SSIM (whose only value after a mean is SSIM itself): its generated kernels, as `grad` runs
 * them, and the graph built without a float64 copy of the images.
 */
export function wholeRun(x: Tensor, y: Tensor, plan: SubsamplePlan, side: 'x' | 'y'): WholeRun {
  const options = plan.pinned!.options;
  if (computedBySsimKernels(options)) {
    // one gradient only: S is symmetric, so d/dy S(x, y) is d/dx S(y, x)
    const plain = plainOptions(options);
    const r = side === 'x' ? ssimGradFast(x, y, plain, 'float64', 'x') : ssimGradFast(y, x, plain, 'float64', 'x');
    const loss = lossGraph(plan.shape, options);
    if (loss.kind !== 'block') throw new Error('wholeRun: plain SSIM is one block');
    return { loss, order: topoOrder([loss], true), values: new Map([[loss.id, Float64Array.of(r.ssim)]]), exact: r.gradX.data as Float64Array, value: r.ssim, ssim: r.ssim };
  }
  const graph = variantGraph(x, y, options);
  const result = evaluateGraph(graph.loss, graph.inputs, { wrt: [side], kernels: BLOCK_KERNELS });
  const ssim = plainSsimOf(graph, result) ?? ssimFast(x, y, graph.variant.ssimOptions, 'float64');
  // the graph's float64 copies of the images are not kept (the tiles read the images themselves)
  return { loss: graph.loss, order: topoOrder([graph.loss], true), values: result.values, exact: result.grads[side]!, value: result.value[0]!, ssim };
}

/**
 * A tile's mistake context with the whole images' values pinned: the tile's graph, node for node
 * the whole images' (the plan checked), takes at every node after a mean (the per-plane means of
 * MS-SSIM's scales, their product, the loss) the whole images' value, of the tile's plane, and at
 * every mean the whole images' count; its forward pass before the means reads only the cut, which
 * the halo makes the whole images' at the kept pixels. Reverse mode, under any rewrite, then gives
 * there the whole images' gradient itself (rho = 1).
 */
export function pinnedContext(
  input: { readonly x: Tensor; readonly y: Tensor; readonly wrt: 'x' | 'y' },
  plan: SubsamplePlan,
  s: Strip,
  whole: WholeRun,
): { ctx: MistakeContext; rho: number; exact: Float64Array; terms: GradientTerms; offset: Float64Array | null } {
  const options = plan.pinned!.options;
  const side = input.wrt;
  const xs = cutStrip(input.x, plan.shape, s);
  const ys = cutStrip(input.y, plan.shape, s);
  const tg = variantGraph(xs, ys, options);
  const order = topoOrder([tg.loss], true);
  if (order.length !== whole.order.length) throw new Error(`pinnedContext: the tile's graph has ${order.length} nodes, the whole images' ${whole.order.length}`);
  // a block ran on its kernels over the whole images: its value is the block's, its fine graph's output in the tile
  const blockOf = new Map<number, number>();
  for (const n of topoOrder([whole.loss], false)) if (n.kind === 'block') blockOf.set(outputOf(n).id, n.id);
  const values = whole.values;
  const after = new Set<number>();
  const missing = new Set<number>();
  const pin = new Map<number, Float64Array>();
  const counts = new Map<number, number>();
  const shapes = new Map<number, Shape4>();
  order.forEach((t, i) => {
    const w = whole.order[i]!;
    shapes.set(t.id, w.shape);
    const args = argsOf(w).map((a) => resolved(a, true));
    if (w.kind === 'map' && args.some((a) => missing.has(a.id))) throw new Error(`pinnedContext: ${w.label} reads a mean the whole images' run did not keep`);
    if (w.kind === 'reduce' && t.kind === 'reduce') counts.set(t.id, reduceCount(w.how, resolved(w.arg, true).shape));
    if (w.kind !== 'reduce' && !args.some((a) => after.has(a.id))) return;
    after.add(w.id);
    const v = values.get(w.id) ?? (blockOf.has(w.id) ? values.get(blockOf.get(w.id)!) : undefined);
    if (v === undefined) {
      missing.add(w.id);
      return;
    }
    const [N, C, H, W] = w.shape;
    if (H !== 1 || W !== 1 || (N * C !== 1 && v.length !== N * C)) throw new Error(`pinnedContext: ${w.label} has shape [${w.shape}] after a mean`);
    pin.set(t.id, N * C === 1 ? v : Float64Array.of(v[s.plane]!));
  });
  const rec = evaluateGraph(tg.loss, tg.inputs, { wrt: [side], record: true, fused: false, pin, counts });
  const { shares: parts, rest } = shares(tg, rec, side, counts);
  const all = (term: 'mean' | 'square' | 'cross'): Float64Array => pullBack(tg, rec, parts.flatMap((p) => p.seeds[term]), side, counts);
  const terms: GradientTerms = { mean: all('mean'), square: all('square'), cross: all('cross') };
  const offset = rest.length === 0 ? null : pullBack(tg, rec, rest.map((c) => [c.to, c.value] as const), side, counts);
  const tile: TilePins = { graph: tg, forward: rec.values, counts, pin, wholeShape: (n) => shapes.get(n.id) ?? n.shape };
  const ssimOptions = plainOptions(options);
  let e: SsimEvaluation | undefined;
  const ctx: MistakeContext = {
    x: xs, y: ys, options: ssimOptions, wrt: side, variantOptions: options, tile,
    // the plain-SSIM evaluation of the tile, only if a reader asks (the rewrites read the tile's graph)
    get e(): SsimEvaluation {
      return (e ??= evaluateSsim(xs, ys, ssimOptions));
    },
  };
  return { ctx, rho: 1, exact: rec.grads[side]!, terms, offset };
}

/** A block's fine graph's output (a block inside it stands for its own). */
const outputOf = (b: BlockNode): FieldNode => (b.expanded.kind === 'block' ? outputOf(b.expanded) : b.expanded);

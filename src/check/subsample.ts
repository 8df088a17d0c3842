/**
 * The checker's subsample for large images: the known mistakes and the term fit are evaluated on
 * a few tiles (16 x 64 at the corners, the middle of each edge and the centre of up to four
 * planes; full-width strips where the image is too narrow for three tiles across) instead of the
 * whole images, so that their cost no longer grows with the image; the verdict, the floor, the
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
 */
import { shape4, type Shape4, type Tensor } from '../field/index.js';
import { downsampleFactor, mapGeometry, type SsimConfig } from '../ssim/options.js';
import { evaluateSsim, type GradientTerms, type SsimOptions, type VariantOptions } from '../ssim/index.js';
import { BUILT_IN_VARIANTS, findVariant, type VariantRef } from '../variants/registry.js';
import type { MistakeContext, WholeCounts } from './mistakes.js';
import { amendPieces, isPlain, variantPieces } from './variant-model.js';

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
}

/** The defaults: whole images up to 2^20 values (3 x 590 x 590), then tiles of 16 x 64. */
export const SUBSAMPLE_DEFAULTS: Required<SubsampleOptions> = { minValues: 2 ** 20, stripRows: 16, stripCols: 64, maxPlanes: 4 };

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

/** The built-in variants that tile (those whose declaration sets `tiles`). */
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
}

/** Evenly spaced indices 0 .. n-1, at most m of them, the first and the last included. */
function spread(n: number, m: number): number[] {
  if (n <= m) return Array.from({ length: n }, (_, i) => i);
  const out = Array.from({ length: m }, (_, i) => Math.round((i * (n - 1)) / (m - 1)));
  return [...new Set(out)];
}

/**
 * The strips for images of `shape` under `config`, or null when the images are checked whole:
 * small images, a variant that does not tile, MATLAB's downsampling (f > 1), or images
 * too short for the strips and their halos to cover less than half of each plane.
 */
export function planSubsample(shape: Shape4, config: SsimConfig, variant: VariantRef, opts: SubsampleOptions = {}): SubsamplePlan | null {
  const o = { ...SUBSAMPLE_DEFAULTS, ...opts };
  const [N, C, H, W] = shape;
  const total = N * C * H * W;
  if (total < o.minValues || !tiles(variant)) return null;
  if (downsampleFactor(config, H, W) !== 1) return null;
  const k = Math.max(config.size, config.taps.length);
  if (H < k || W < k) return null;
  const halo = config.taps.length - 1 + config.crop;
  // along an axis of length n: the first, middle and last `m` indices, each with its halo (or null: too short)
  const bands = (n: number, m: number) => {
    const starts = [...new Set([0, Math.floor((n - m) / 2), n - m])];
    const cuts = starts.map((s): [number, number] => [Math.max(0, s - halo), Math.min(n, s + m + halo)]);
    if (m < 1 || 2 * cuts.reduce((a, [c0, c1]) => a + c1 - c0, 0) > n) return null;
    return starts.map((s, i) => ({ keep: [s, s + m] as [number, number], cut: cuts[i]! }));
  };
  const rowBands = bands(H, o.stripRows);
  if (rowBands === null) return null;
  // columns: the first, middle and last stripCols, or the whole width
  const colBands = bands(W, o.stripCols) ?? [{ keep: [0, W] as [number, number], cut: [0, W] as [number, number] }];
  const strips: Strip[] = [];
  for (const plane of spread(N * C, o.maxPlanes)) {
    for (const r of rowBands) for (const c of colBands) strips.push({ plane, cut: r.cut, keep: r.keep, cutCols: c.cut, keepCols: c.keep });
  }
  const g = mapGeometry(config, H, W);
  const c = config.crop;
  const g0 = mapGeometry({ ...config, crop: 0 }, H, W);
  const mean = config.reduction === 'mean';
  const whole: WholeCounts = {
    N, C, RH: g.MH - 2 * c, RW: g.MW - 2 * c, H, W,
    omega: mean ? 1 / (N * C * g.region) : 1 / g.region,
    omegaUncropped: mean ? 1 / (N * C * g0.region) : 1 / g0.region,
  };
  const kept = strips.reduce((a, t) => a + (t.keep[1] - t.keep[0]) * (t.keepCols[1] - t.keepCols[0]), 0);
  return { shape, strips, halo, kept, total, whole };
}

/** The plan for tensors x, y (null: check them whole). */
export function planFor(x: Tensor, config: SsimConfig, variant: VariantRef, opts?: SubsampleOptions): SubsamplePlan | null {
  return planSubsample(shape4(x, 'x'), config, variant, opts);
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
  return (
    `known mistakes and the term fit on ${what} of plane${planes.length > 1 ? 's' : ''} ${planes.join(', ')}; ${p.kept} of ${p.total} values, ` +
    `each cut with ${p.halo} pixels of halo so its values are the whole images'); the verdict, floor, errors, regions and scale use the whole images`
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
  let pieces = isPlain(input.options) ? undefined : variantPieces(xs, ys, input.options, wrt);
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

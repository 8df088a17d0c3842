/**
 * The checker's subsample for large images: the known mistakes and the term fit are evaluated on
 * a few full-width strips of rows (the top, middle and bottom rows of up to four planes) instead
 * of the whole images, so that their cost no longer grows with the image; the verdict, the floor,
 * the errors, the regions and the scale fit still use the whole images.
 *
 * Why a strip gives the whole images' values exactly: the gradient at pixel p reads the map
 * pixels whose windows cover p (within r = (taps - 1)/2 rows of p, or k - 1 rows above p under
 * 'valid'), and each of those reads the image within r rows of itself, so p's gradient depends
 * only on the rows within 2r of p; a crop of c map rows at a strip's cut edge takes c more. A
 * strip cut out with a halo of 2r + c rows beyond the rows it keeps (nothing beyond a true edge of
 * the image, where the boundary rule applies as it does on the whole image) computes, at the kept
 * rows, the whole images' gradients times one factor: the ratio rho of the whole images' weight
 * omega of a map pixel to the strip's. Every mistake built on the strip is scaled by rho; those
 * that change a normaliser take the whole images' counts (MistakeContext.whole). The report
 * carries how well the strips reproduce the exact gradient (exactAgreement, rounding only).
 */
import { shape4, type Shape4, type Tensor } from '../field/index.js';
import { downsampleFactor, mapGeometry, type SsimConfig } from '../ssim/options.js';
import { evaluateSsim, type GradientTerms, type SsimOptions, type Variant, type VariantOptions } from '../ssim/index.js';
import type { MistakeContext, WholeCounts } from './mistakes.js';
import { variantOf, variantPieces } from './variant-model.js';

/** When and how the checker subsamples (tests set smaller values to subsample small images). */
export interface SubsampleOptions {
  /** Images of fewer values (N C H W) are checked whole. */
  readonly minValues?: number;
  /** Rows kept per strip. */
  readonly stripRows?: number;
  /** At most this many planes (N C) carry strips, evenly spaced, the first and the last among them. */
  readonly maxPlanes?: number;
}

/** The defaults: whole images up to 2^20 values (3 x 590 x 590), then strips of 16 rows. */
export const SUBSAMPLE_DEFAULTS: Required<SubsampleOptions> = { minValues: 2 ** 20, stripRows: 16, maxPlanes: 4 };

/**
 * The variants whose exact gradient and mistakes a strip reproduces: those that scale with omega
 * alone, and the 3DGS loss, whose L1 term (1/N of the values, not omega) is rescaled on the strip
 * (stripContext). Not MS-SSIM: its plane means couple every pixel of a plane at every scale.
 */
export const SUBSAMPLED_VARIANTS: readonly Variant[] = ['ssim', 'dssim', 'wang', '3dgs-loss'];

/** One strip: rows [cut0, cut1) of plane `plane` cut out, rows [keep0, keep1) of it kept (image rows). */
export interface Strip {
  readonly plane: number;
  readonly cut: readonly [number, number];
  readonly keep: readonly [number, number];
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
 * small images, a variant outside SUBSAMPLED_VARIANTS, MATLAB's downsampling (f > 1), or images
 * too short for the strips and their halos to cover less than half of each plane.
 */
export function planSubsample(shape: Shape4, config: SsimConfig, variant: Variant, opts: SubsampleOptions = {}): SubsamplePlan | null {
  const o = { ...SUBSAMPLE_DEFAULTS, ...opts };
  const [N, C, H, W] = shape;
  const total = N * C * H * W;
  if (total < o.minValues || !SUBSAMPLED_VARIANTS.includes(variant)) return null;
  if (downsampleFactor(config, H, W) !== 1) return null;
  const k = Math.max(config.size, config.taps.length);
  if (H < k || W < k) return null;
  const halo = config.taps.length - 1 + config.crop;
  const rows = o.stripRows;
  const starts = [...new Set([0, Math.floor((H - rows) / 2), H - rows])];
  const cuts = starts.map((s): [number, number] => [Math.max(0, s - halo), Math.min(H, s + rows + halo)]);
  const cutRows = cuts.reduce((a, [c0, c1]) => a + c1 - c0, 0);
  if (rows < 1 || 2 * cutRows > H) return null;
  const strips: Strip[] = [];
  for (const plane of spread(N * C, o.maxPlanes)) {
    starts.forEach((s, i) => strips.push({ plane, cut: cuts[i]!, keep: [s, s + rows] }));
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
  return { shape, strips, halo, kept: strips.length * rows * W, total, whole };
}

/** The plan for tensors x, y (null: check them whole). */
export function planFor(x: Tensor, config: SsimConfig, variant: Variant, opts?: SubsampleOptions): SubsamplePlan | null {
  return planSubsample(shape4(x, 'x'), config, variant, opts);
}

/** A strip's rows of one plane as a 1 x 1 x rows x W tensor (a view, not a copy, of typed data). */
export function cutStrip(t: Tensor, shape: Shape4, s: Strip): Tensor {
  const [, , H, W] = shape;
  const from = (s.plane * H + s.cut[0]) * W;
  const to = (s.plane * H + s.cut[1]) * W;
  const d = t.data as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  const data = typeof d.subarray === 'function' ? d.subarray(from, to) : Array.prototype.slice.call(d, from, to);
  return { shape: [1, 1, s.cut[1] - s.cut[0], W], data: data as Tensor['data'] };
}

/** Flat indices, in the whole images, of a strip's kept values: [start, end). */
export function keptRange(shape: Shape4, s: Strip): [number, number] {
  const [, , H, W] = shape;
  return [(s.plane * H + s.keep[0]) * W, (s.plane * H + s.keep[1]) * W];
}

/** Flat indices, within the strip's own tensor, of its kept values: [start, end). */
export function keptInStrip(shape: Shape4, s: Strip): [number, number] {
  const W = shape[3];
  return [(s.keep[0] - s.cut[0]) * W, (s.keep[1] - s.cut[0]) * W];
}

/** One line for the report: what the subsample is. */
export function describeSubsample(p: SubsamplePlan): string {
  const planes = [...new Set(p.strips.map((s) => s.plane))];
  const perPlane = p.strips.filter((s) => s.plane === planes[0]).map((s) => `${s.keep[0]}-${s.keep[1] - 1}`);
  return (
    `known mistakes and the term fit on ${p.strips.length} strips of ${p.strips[0]!.keep[1] - p.strips[0]!.keep[0]} full-width rows ` +
    `(rows ${perPlane.join(', ')} of plane${planes.length > 1 ? 's' : ''} ${planes.join(', ')}; ${p.kept} of ${p.total} values, ` +
    `each strip cut with ${p.halo} rows of halo so its values are the whole images'); the verdict, floor, errors, regions and scale use the whole images`
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
  let pieces = variantOf(input.options) === 'ssim' ? undefined : variantPieces(xs, ys, input.options, wrt, ssimTerms);
  if (pieces?.offset != null) {
    // the 3DGS loss's L1 term carries 1/N of the values, not omega: put it in the whole images' scale over rho
    const [N, C, H, W] = plan.shape;
    const kappa = xs.data.length / (N * C * H * W) / rho;
    const sub = pieces.offset;
    const offset = sub.map((v) => kappa * v);
    pieces = { ...pieces, offset, exact: pieces.exact.map((v, i) => v - sub[i]! + offset[i]!) };
  }
  const ctx: MistakeContext = { x: xs, y: ys, options: ssimOptions, e, wrt, whole: plan.whole, ...(pieces !== undefined ? { pieces } : {}) };
  return { ctx, rho, exact: pieces?.exact ?? (wrt === 'x' ? e.gradX : e.gradY), terms: pieces?.terms ?? ssimTerms(), offset: pieces?.offset ?? null };
}

/**
 * A library of wrong derivations. Each is generated from the same graph and field operators as
 * the exact gradient by one specific transformation (drop the window's transpose, drop the
 * means' share of var and cov, change the normaliser, ...), so a candidate that equals one of
 * them to rounding has made exactly that mistake.
 *
 * Every mistake is given as its three chain-rule terms on the work grid (the analogue of
 * W^T g_mu, 2x W^T g_xx, y W^T g_xy), so that the tracer can say which term differs; its
 * gradient is D^T of their sum.
 */
import { evaluateVec } from '../expr/index.js';
import { crop, sizeOf, windowMean, type Boundary, type Tensor } from '../field/index.js';
import { evaluateSsim, onImageGrid, type GradientTerms, type SsimEvaluation, type SsimOptions } from '../ssim/index.js';
import { centralSsim } from './central.js';
import type { VariantPieces } from './variant-model.js';

/** What a mistake is built from: the inputs and the exact evaluation. */
export interface MistakeContext {
  /** The images as given (before any downsampling). */
  readonly x: Tensor;
  readonly y: Tensor;
  readonly options: SsimOptions;
  readonly e: SsimEvaluation;
  readonly wrt: 'x' | 'y';
  /** For a variant (--variant): its exact gradient taken apart (variant-model.ts). */
  readonly pieces?: VariantPieces;
  /**
   * Set when x, y are a strip cut out of larger images (the checker's subsample, subsample.ts):
   * the whole images' counts, so that the mistakes that change a normaliser scale as they would
   * on the whole images. Absent: the context's own images are the whole images.
   */
  readonly whole?: WholeCounts;
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
  /** The mistake's three terms on the work grid, or null when it does not apply to this configuration. */
  terms(ctx: MistakeContext): GradientTerms | null;
  /** The mistaken gradient on the input grid, or null when it does not apply. */
  build(ctx: MistakeContext): Float64Array | null;
}

const CORRECT =
  'd ssim/dx = W^T g_mu + 2x . W^T g_xx + y . W^T g_xy, where g_mu, g_xx, g_xy are the maps omega dS/d(mu_x, m_xx, m_xy) ' +
  '(omega = 1/count of the mean) and W^T is the adjoint of the windowed mean';

// ---- shared pieces --------------------------------------------------------------------------

/** Values of one context computed once: moments, central partials, the uncropped evaluation. */
const cache = new WeakMap<MistakeContext, Map<string, unknown>>();
function memo<T>(ctx: MistakeContext, key: string, f: () => T): T {
  let m = cache.get(ctx);
  if (m === undefined) cache.set(ctx, (m = new Map()));
  if (!m.has(key)) m.set(key, f());
  return m.get(key) as T;
}

const sideOf = (ctx: MistakeContext) => {
  const { e, wrt } = ctx;
  return wrt === 'x'
    ? { self: e.x, other: e.y, g: e.partialsX, terms: e.termsX, otherTerms: e.termsY }
    : { self: e.y, other: e.x, g: e.partialsY, terms: e.termsY, otherTerms: e.termsX };
};

const scaled = (t: GradientTerms, k: number): GradientTerms => ({
  mean: t.mean.map((v) => k * v),
  square: t.square.map((v) => k * v),
  cross: t.cross.map((v) => k * v),
});

/** The chain rule with a given transpose T: T(g_mu), 2 self T(g_sq), other T(g_cross). */
function chain(ctx: MistakeContext, g: { mu: Float64Array; sq: Float64Array; cross: Float64Array }, T: (v: Float64Array) => Float64Array): GradientTerms {
  const { self, other } = sideOf(ctx);
  const tsq = T(g.sq);
  const tc = T(g.cross);
  return { mean: T(g.mu), square: self.map((v, i) => 2 * v * tsq[i]!), cross: other.map((v, i) => v * tc[i]!) };
}

/**
 * omega times the partials of S over the central statistics, evaluated at the images' own
 * statistics: dS/dmu_self (var, cov fixed), dS/dvar_self, dS/dcov, and mu_other.
 */
function centralPartials(ctx: MistakeContext) {
  return memo(ctx, 'central', () => {
    const { e, wrt } = ctx;
    const W = (v: Float64Array): Float64Array => e.window.apply(v);
    const mu_x = W(e.x);
    const mu_y = W(e.y);
    const cn = e.config.covNorm;
    const m = (a: Float64Array, b: Float64Array): Float64Array => W(a.map((v, i) => v * b[i]!));
    const m_xx = m(e.x, e.x);
    const m_yy = m(e.y, e.y);
    const m_xy = m(e.x, e.y);
    const n = mu_x.length;
    const env = {
      mu_x, mu_y,
      var_x: m_xx.map((v, i) => cn * (v - mu_x[i]! * mu_x[i]!)),
      var_y: m_yy.map((v, i) => cn * (v - mu_y[i]! * mu_y[i]!)),
      cov: m_xy.map((v, i) => cn * (v - mu_x[i]! * mu_y[i]!)),
      C1: new Float64Array(n).fill(e.config.C1),
      C2: new Float64Array(n).fill(e.config.C2),
    };
    const c = centralSsim();
    const [dmu, dvar, dcov] = evaluateVec(
      wrt === 'x' ? [c.partials.mu_x, c.partials.var_x, c.partials.cov] : [c.partials.mu_y, c.partials.var_y, c.partials.cov],
      env,
      n,
    ) as [Float64Array, Float64Array, Float64Array];
    const w = e.weights;
    return {
      dmu: dmu.map((v, i) => w[i]! * v),
      dvar: dvar.map((v, i) => w[i]! * v),
      dcov: dcov.map((v, i) => w[i]! * v),
      muSelf: wrt === 'x' ? mu_x : mu_y,
      muOther: wrt === 'x' ? mu_y : mu_x,
    };
  });
}

/**
 * Raw-moment partials assembled from the central ones with the chain rule
 * var = c (m_ss - mu_s^2), cov = c (m_xy - mu_x mu_y), the means' share weighted by `meanShare`.
 * meanShare 1 and c = c_n give the exact g_mu, g_sq, g_cross.
 */
function rawFromCentral(ctx: MistakeContext, c: number, meanShare: number) {
  const p = centralPartials(ctx);
  return {
    mu: p.dmu.map((v, i) => v + meanShare * c * (-2 * p.muSelf[i]! * p.dvar[i]! - p.muOther[i]! * p.dcov[i]!)),
    sq: p.dvar.map((v) => c * v),
    cross: p.dcov.map((v) => c * v),
  };
}


function mistake(m: Omit<KnownMistake, 'build'>): KnownMistake {
  return {
    ...m,
    build(ctx) {
      const t = m.terms(ctx);
      if (t === null) return null;
      return ctx.e.downsample.transpose(t.mean.map((v, i) => v + t.square[i]! + t.cross[i]!));
    },
  };
}

// ---- the mistakes ---------------------------------------------------------------------------

/** (1) The seed question's formula. */
const perPixelChainRule = mistake({
  kind: 'per-pixel-chain-rule',
  title: "per-pixel chain rule: the window's transpose is missing",
  explanation:
    "The statistics at map pixel q depend on every pixel p in q's window, so d ssim/dx(p) must gather the partials of every " +
    "map pixel whose window reads p, each weighted by its tap. The per-pixel rule multiplies p's own partials by W^T 1 instead, " +
    'as if g_mu, g_xx, g_xy were constant across the window. Where the partial maps are smooth the two nearly agree, which is why ' +
    'the error looks like noise.',
  correctFormula: `${CORRECT}: correlate each partial map with the flipped window (zero padding: conv2d(g, flip(window), padding = size // 2)), then multiply by 2x and y`,
  scaleOnly: false,
  terms(ctx) {
    const { e } = ctx;
    const { self, other, g } = sideOf(ctx);
    const WT1 = e.window.transpose(new Float64Array(sizeOf(e.window.outShape)).fill(1));
    const gm = onImageGrid(e, g.mu);
    const gs = onImageGrid(e, g.sq);
    const gc = onImageGrid(e, g.cross);
    return {
      mean: WT1.map((w, p) => w * gm[p]!),
      square: WT1.map((w, p) => w * 2 * self[p]! * gs[p]!),
      cross: WT1.map((w, p) => w * other[p]! * gc[p]!),
    };
  },
});

/** (2) var and cov differentiated as if they did not depend on the means. */
const meansIndependent = mistake({
  kind: 'variances-independent-of-means',
  title: 'variances and covariance treated as independent of the means',
  explanation:
    'var_x = m_xx - mu_x^2 and cov = m_xy - mu_x mu_y depend on mu_x, so dS/dmu_x through the raw moments is ' +
    'dS/dmu_x|(var, cov fixed) - 2 mu_x dS/dvar_x - mu_y dS/dcov. The candidate keeps only the first part: the partial of S ' +
    'written over (mu, var, cov) is not the partial the chain rule to the pixels needs.',
  correctFormula: `${CORRECT}, where g_mu = omega [dS/dmu_x - 2 c_n mu_x dS/dvar_x - c_n mu_y dS/dcov] (for y: mu_y, var_y and mu_x)`,
  scaleOnly: false,
  terms(ctx) {
    const { terms } = sideOf(ctx);
    const p = centralPartials(ctx);
    return { mean: ctx.e.window.transpose(p.dmu), square: terms.square, cross: terms.cross };
  },
});

/** (3) Normalisers: the gradient of a mean divided by the wrong count. */
type Count = (c: { N: number; C: number; RH: number; RW: number; H: number; W: number }) => number;
/** The counts a normaliser is built from: the whole images' (a strip's context carries them). */
const regionCounts = (ctx: MistakeContext) => {
  if (ctx.whole !== undefined) return ctx.whole;
  const { e } = ctx;
  const [N, C, RH, RW] = e.region.outShape;
  return { N, C, RH, RW, H: e.workShape[2], W: e.workShape[3] };
};
/** omega of one averaged map pixel in the context's own evaluation. */
const omegaOf = (e: SsimEvaluation): number => e.weights.find((w) => w > 0)!;
function normaliser(kind: string, countName: string, why: string, count: Count): KnownMistake {
  return mistake({
    kind: `normaliser-${kind}`,
    title: `wrong normaliser: divided by ${countName}`,
    explanation:
      `The loss is a mean, so every partial carries 1/count with count the number of map pixels averaged. ` +
      `The candidate divides by ${countName} instead (${why}), which scales the whole gradient by the ratio of the two counts.`,
    correctFormula: `${CORRECT}; for this configuration omega = 1/(N C H_r W_r) for --reduction mean (H_r x W_r the averaged region of the map), 1/(H_r W_r) for sum`,
    scaleOnly: true,
    terms(ctx) {
      const actual = 1 / (ctx.whole?.omega ?? omegaOf(ctx.e));
      const wrong = count(regionCounts(ctx));
      if (Math.abs(wrong - actual) <= 1e-9 * actual) return null;
      return scaled(sideOf(ctx).terms, actual / wrong);
    },
  });
}
const normalisers: KnownMistake[] = [
  normaliser('plane', 'the pixels of one channel (H x W)', 'the mean of one plane; the channels and the batch are left out', (c) => {
    return c.RH * c.RW;
  }),
  normaliser('image', 'one image (C x H x W)', 'the batch is left out', (c) => {
    return c.C * c.RH * c.RW;
  }),
  normaliser('all', 'every pixel of every channel and image (N x C x H x W)', 'the mean of the batch over the averaged region', (c) => {
    return c.N * c.C * c.RH * c.RW;
  }),
  normaliser('size1-size2', 'C x H (size(1) * size(2) of an NCHW tensor)', 'size(1) * size(2) is H x W only for a CHW tensor', (c) => {
    return c.C * c.H;
  }),
  normaliser('uncropped-count', 'the input size N x C x H x W instead of the averaged region', "the map is cropped or 'valid', so it has fewer pixels than the image", (c) => {
    return c.N * c.C * c.H * c.W;
  }),
  normaliser('none', '1 (the gradient of the sum, not the mean)', 'the 1/count of the mean is missing', () => 1),
];

/** The gradient of 1 - ssim (a loss) instead of ssim. */
const signFlipped = mistake({
  kind: 'sign-flipped',
  title: 'sign flipped: the gradient of 1 - ssim (or -ssim)',
  explanation:
    'The candidate is minus the exact gradient of ssim. That is right for the loss 1 - ssim; ssim-grad checks d ssim / dx. ' +
    'If your candidate is meant to be the loss gradient, this is no mistake: negate it to check it.',
  correctFormula: `${CORRECT}; d(1 - ssim)/dx = -d ssim/dx`,
  scaleOnly: true,
  terms: (ctx) => scaled(sideOf(ctx).terms, -1),
});

/** (4) The transpose of the window under another boundary rule, the forward statistics kept. */
const BOUNDARY_WORDS: Record<Boundary, string> = {
  same: "zero padding ('same')",
  valid: "'valid'",
  reflect: "half-sample reflection ('reflect', scipy)",
  mirror: "whole-sample mirror ('mirror', torch 'reflect')",
  replicate: "edge replication ('replicate')",
};
function wrongBoundary(b: Boundary): KnownMistake {
  return mistake({
    kind: `boundary-transpose-${b}`,
    title: `the window's transpose under ${BOUNDARY_WORDS[b]} instead of the forward's boundary`,
    explanation:
      `The forward pass pads with one rule, the backward pass scatters the partials back through the padding of another (${BOUNDARY_WORDS[b]}). ` +
      'The interior is right; within the window radius of the edges the gradient collects the wrong taps.',
    correctFormula: `${CORRECT}; W^T must be the adjoint of the forward's own padding: zero padding's adjoint drops what fell outside, reflect and mirror padding fold it back onto the pixels it was copied from, replicate onto the edge pixel`,
    scaleOnly: false,
    terms(ctx) {
      const { e } = ctx;
      if (e.config.padding === b || e.config.padding === 'valid') return null;
      const Wb = windowMean(e.workShape, e.config.taps, b);
      return chain(ctx, sideOf(ctx).g, (v) => Wb.transpose(v));
    },
  });
}
const wrongBoundaries = (['same', 'reflect', 'mirror', 'replicate'] as const).map(wrongBoundary);

/** (4') The forward correlation used as its own adjoint, wrong where the padding is not self-adjoint. */
const forwardAsAdjoint = mistake({
  kind: 'forward-as-adjoint',
  title: 'the forward window used as its own transpose',
  explanation:
    'With a symmetric window, zero padding and half-sample reflection make W self-adjoint, so reusing the forward filter ' +
    "for the backward pass works there. Under whole-sample mirror (torch 'reflect') and replicate padding it does not: the padded " +
    'samples must be scattered back onto the pixels they copy.',
  correctFormula: `${CORRECT}; model the padding as its own linear map P and use W^T = P^T (correlation with the flipped window, no padding)`,
  scaleOnly: false,
  terms(ctx) {
    const { e } = ctx;
    if (e.config.padding !== 'mirror' && e.config.padding !== 'replicate') return null;
    return chain(ctx, sideOf(ctx).g, (v) => e.window.apply(v));
  },
});

/** (5) The sample-covariance factor NP/(NP-1) left out of the gradient. */
const sampleCovarianceDropped = mistake({
  kind: 'sample-covariance-dropped',
  title: 'the sample-covariance factor NP/(NP-1) dropped from the gradient',
  explanation:
    'With sample covariance, var = c_n (m_xx - mu^2) and cov = c_n (m_xy - mu_x mu_y), c_n = NP/(NP-1). The candidate uses c_n in the ' +
    'forward statistics but differentiates var and cov as if c_n were 1.',
  correctFormula: `${CORRECT}; g_xx = omega c_n dS/dvar_x, g_xy = omega c_n dS/dcov, g_mu = omega [dS/dmu_x - 2 c_n mu_x dS/dvar_x - c_n mu_y dS/dcov]`,
  scaleOnly: false,
  terms(ctx) {
    if (!ctx.e.config.sampleCovariance) return null;
    return chain(ctx, rawFromCentral(ctx, 1, 1), (v) => ctx.e.window.transpose(v));
  },
});

/** (6) The mean over the whole map where the variant crops it (skimage). */
const uncroppedMean = mistake({
  kind: 'uncropped-mean',
  title: 'the mean taken over the uncropped SSIM map',
  explanation:
    'This variant averages the SSIM map cropped by (size-1)/2 on each side (skimage), so map pixels near the edges do not count. ' +
    'The candidate differentiates the mean over the whole map (crop 0): it has gradient where the exact one has none and a different 1/count.',
  correctFormula: `${CORRECT}; omega is 1/count on the cropped region and 0 outside it`,
  scaleOnly: false,
  terms(ctx) {
    if (ctx.e.config.crop === 0) return null;
    const e0 = memo(ctx, 'uncropped', () => evaluateSsim(ctx.x, ctx.y, { ...ctx.options, crop: 0 }));
    const t = ctx.wrt === 'x' ? e0.termsX : e0.termsY;
    // a strip's gradients are scaled to the whole images' omega as a whole: this one's own omega differs
    const w = ctx.whole;
    return w === undefined ? t : scaled(t, (w.omegaUncropped / omegaOf(e0)) / (w.omega / omegaOf(ctx.e)));
  },
});

/** (7) The gradient with respect to the other image. */
const otherImage = mistake({
  kind: 'other-image',
  title: 'the gradient with respect to the other image',
  explanation:
    'SSIM is symmetric in x and y but its gradient is not: d ssim/dy uses 2y W^T g_yy and x W^T g_xy. The candidate is the gradient ' +
    'with respect to the other image (check the argument order, or --wrt).',
  correctFormula: `${CORRECT}; for y swap the roles: W^T g_mu_y + 2y . W^T g_yy + x . W^T g_xy`,
  scaleOnly: false,
  terms: (ctx) => sideOf(ctx).otherTerms,
});

/** The factor 2 of d(x^2)/dx left out. */
const squareFactor = mistake({
  kind: 'square-term-factor',
  title: 'the factor 2 of d(x^2)/dx dropped',
  explanation: 'm_xx = W(x . x), so d m_xx / dx brings 2x, not x. The candidate has x . W^T g_xx where 2x . W^T g_xx belongs.',
  correctFormula: CORRECT,
  scaleOnly: false,
  terms(ctx) {
    const { terms } = sideOf(ctx);
    return { mean: terms.mean, square: terms.square.map((v) => v / 2), cross: terms.cross };
  },
});

/** Every known mistake, in the order the report lists ties. */
export const KNOWN_MISTAKES: readonly KnownMistake[] = [
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

/** The exact gradient's raw partials rebuilt from the central ones (a self-check of the central graph). */
export function exactFromCentral(ctx: MistakeContext): GradientTerms {
  return chain(ctx, rawFromCentral(ctx, ctx.e.config.covNorm, 1), (v) => ctx.e.window.transpose(v));
}

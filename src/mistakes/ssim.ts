/**
 * SSIM's own mistakes (KNOWN_MISTAKES): rewrites of the adjoint program wherever the graph windows
 * the moments mu = W x, m_xx = W (x x), m_xy = W (x y) into a map of them (SSIM, cs, Wang's form,
 * a user's g.ssimMap): the per-pixel chain rule, the boundaries of the window's transpose, the
 * partials of the map, the factor 2 of x x, the crop and the count of the region's mean, the sign
 * and the other image. A new one is a spec here, listed in SSIM_SPECS.
 */
import { add, div, mul, variable, type Node } from '../expr/index.js';
import type { Boundary } from '../field/index.js';
import { BOUNDARIES, BOUNDARY_RULES } from '../field/boundary.js';
import { reduceCount, type StepRule } from '../graph/adjoint.js';
import { linearOp } from '../graph/linear.js';
import type { LinearNode } from '../graph/node.js';
import { ssimMap } from '../model/maps.js';
import type { KnownMistake, MistakeContext } from './context.js';
import { wholeShapeOf, type Anatomy } from './match.js';
import { known, linearSteps, momentPartials, partialSteps, wordsOf, type MistakeSpec } from './rewrite.js';

export const CORRECT =
  'd ssim/dx = W^T g_mu + 2x . W^T g_xx + y . W^T g_xy, where g_mu, g_xx, g_xy are the maps omega dS/d(mu_x, m_xx, m_xy) ' +
  '(omega = 1/count of the mean) and W^T is the adjoint of the windowed mean';

/** The steps out of the moment windows take the rule `rule` gives (null: the exact one kept). */
const windowSteps = (a: Anatomy, rule: (node: LinearNode) => StepRule | null) => linearSteps((node) => (a.windows.has(node) ? rule(node) : null));

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
  plan: (a) => (a.windows.size === 0 ? null : { steps: [windowSteps(a, (node) => ({ kind: 'perPixel', spec: node.spec, op: node.op }))] }),
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
          steps: [momentPartials(a, (arg, P) =>
            arg === 'mu_x'
              ? add(P('mu_x'), mul(2, v('mu_x'), P('m_xx')), mul(v('mu_y'), P('m_xy')))
              : arg === 'mu_y'
                ? add(P('mu_y'), mul(2, v('mu_y'), P('m_yy')), mul(v('mu_x'), P('m_xy')))
                : undefined,
          )],
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
      const actual = ctx.whole !== undefined ? 1 / ctx.whole.omega : reduceCount(r0.how, wholeShapeOf(ctx, r0.arg));
      const wrong = count(regionCounts(ctx, a));
      if (Math.abs(wrong - actual) <= 1e-9 * actual) return null;
      const reduces = new Set(a.lossBlocks.map((b) => b.reduce.id));
      return { count: (node, whole) => (reduces.has(node.id) ? (whole * wrong) / actual : undefined) };
    },
  };
}
export const normalisers: MistakeSpec[] = [
  normaliser('plane', 'the pixels of one channel (H x W)', 'the mean of one plane; the channels and the batch are left out', (c) => c.RH * c.RW),
  normaliser('image', 'one image (C x H x W)', 'the batch is left out', (c) => c.C * c.RH * c.RW),
  normaliser('all', 'every pixel of every channel and image (N x C x H x W)', 'the mean of the batch over the averaged region', (c) => c.N * c.C * c.RH * c.RW),
  normaliser('size1-size2', 'C x H (size(1) * size(2) of an NCHW tensor)', 'size(1) * size(2) is H x W only for a CHW tensor', (c) => c.C * c.H),
  normaliser('uncropped-count', 'the input size N x C x H x W instead of the averaged region', "the map is cropped or 'valid', so it has fewer pixels than the image", (c) => c.N * c.C * c.H * c.W),
  normaliser('none', '1 (the gradient of the sum, not the mean)', 'the 1/count of the mean is missing', () => 1),
];

/** The gradient of minus the value (1 - ssim, a loss) instead of the value. */
export const signFlipped: MistakeSpec = {
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
      return {
        steps: [
          windowSteps(a, (node) => {
            const spec = node.spec;
            if (spec.kind !== 'window' || spec.boundary === b || !BOUNDARY_RULES[spec.boundary].pads) return null;
            const other = { ...spec, boundary: b };
            return { kind: 'transpose', spec: other, op: linearOp(other, node.arg.shape) };
          }),
        ],
      };
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
  plan: (a) =>
    [...a.windows].some(notSelfAdjoint) ? { steps: [windowSteps(a, (node) => (notSelfAdjoint(node) ? { kind: 'forward', spec: node.spec, op: node.op } : null))] } : null,
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
      steps: [
        momentPartials(a, (arg, P) => {
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
      ],
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
      steps: [
        linearSteps((node) => {
          if (!crops.has(node)) return null;
          // on a pinned tile, the whole images' region over their whole map
          const [, , wh, ww] = wholeShapeOf(ctx, node);
          const [, , WMH, WMW] = wholeShapeOf(ctx, node.arg);
          const k = ctx.whole !== undefined ? ctx.whole.omegaUncropped / ctx.whole.omega : (wh * ww) / (WMH * WMW);
          return { kind: 'spread', factor: k };
        }),
      ],
    };
  },
};

/** (7) The gradient with respect to the other image. */
export const otherImage: MistakeSpec = {
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
    return { steps: [partialSteps((node, arg) => (sq.get(node.id) === arg ? v(arg) : undefined))] };
  },
};

/** A windowed map other than S differentiated with S's partials (Wang's exponents, cs's form ignored). */
export const ssimPartials: MistakeSpec = {
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
    return { steps: [partialSteps((node, arg) => (others.has(node.id) ? partials[arg] : undefined))] };
  },
};

/** SSIM's mistakes, in the order the report lists ties. */
export const SSIM_SPECS: readonly MistakeSpec[] = [
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

/** Every known mistake of SSIM itself (plain SSIM's library), in the order the report lists ties. */
export const KNOWN_MISTAKES: readonly KnownMistake[] = SSIM_SPECS.map((s) => known(s, wordsOf(s), s === signFlipped || normalisers.includes(s)));


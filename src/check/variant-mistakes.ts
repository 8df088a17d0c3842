/**
 * Wrong derivations of the variants' gradients, in the mistake library's form (KnownMistake):
 * each generated from the variant's graph by one transformation, plus SSIM's own mistakes
 * carried through the variant's chain rule where it has one (dssim, the 3DGS loss: the factor
 * d value/d ssim times the mistaken SSIM gradient; ms-ssim and wang: the mistakes that live in
 * the per-scale chain rule, made at every scale).
 */
import type { GradientTerms } from '../ssim/index.js';
import { scaleFit } from './compare.js';
import { KNOWN_MISTAKES, type KnownMistake, type MistakeContext } from './mistakes.js';
import { l1Gradient, msGradient, msModel, perPixelTerms, sumTerms, type MapParts, type Side, type VariantPieces } from './variant-model.js';

const pieces = (ctx: MistakeContext): VariantPieces => {
  if (ctx.pieces === undefined) throw new Error('variant mistakes need the variant pieces');
  return ctx.pieces;
};
const ssimExact = (ctx: MistakeContext): Float64Array => (ctx.wrt === 'x' ? ctx.e.gradX : ctx.e.gradY);
const other = (s: Side): Side => (s === 'x' ? 'y' : 'x');
const scaledTerms = (t: GradientTerms | null, k: number): GradientTerms | null =>
  t === null ? null : { mean: t.mean.map((v) => k * v), square: t.square.map((v) => k * v), cross: t.cross.map((v) => k * v) };

function variantMistake(m: Omit<KnownMistake, 'terms'> & { terms?: KnownMistake['terms'] }): KnownMistake {
  return { terms: () => null, ...m };
}

// ---- dssim ------------------------------------------------------------------------------------

const DSSIM_CORRECT = 'd dssim/dx = -(1/d) d ssim/dx, d the divisor (2 by default): the minus from 1 - SSIM, the 1/d from the division';
const dssimFactor = (ctx: MistakeContext): number => pieces(ctx).factor!;

const dssimMistakes: KnownMistake[] = [
  variantMistake({
    kind: 'dssim-sign-forgotten',
    title: 'DSSIM: the sign of 1 - SSIM forgotten',
    explanation: 'DSSIM = (1 - SSIM)/d decreases where SSIM increases: its gradient is minus SSIM\'s over d. The candidate is +d ssim/dx / d, the gradient of (1 + SSIM)/d.',
    correctFormula: DSSIM_CORRECT,
    scaleOnly: true,
    build: (ctx) => pieces(ctx).exact.map((v) => -v),
  }),
  variantMistake({
    kind: 'dssim-divisor',
    title: 'DSSIM: the 1/2 forgotten (or put in where the divisor is 1)',
    explanation: 'DSSIM is (1 - SSIM)/2 by default; --dssim-divisor 1 is the plain 1 - SSIM loss. The candidate has the other divisor: -d ssim/dx where -d ssim/dx / 2 belongs, or the reverse.',
    correctFormula: DSSIM_CORRECT,
    scaleOnly: true,
    build: (ctx) => {
      const wrong = dssimFactor(ctx) === -0.5 ? -1 : -0.5;
      return ssimExact(ctx).map((v) => wrong * v);
    },
  }),
  variantMistake({
    kind: 'dssim-ssim-gradient',
    title: "DSSIM: SSIM's gradient as it is (the sign and the 1/d both forgotten)",
    explanation: 'The candidate is d ssim/dx itself: the chain rule through (1 - s)/d was not applied at all.',
    correctFormula: DSSIM_CORRECT,
    scaleOnly: true,
    build: (ctx) => ssimExact(ctx).slice(),
  }),
  ...KNOWN_MISTAKES.map((m) =>
    variantMistake({
      kind: `dssim/${m.kind}`,
      title: `inside DSSIM's chain rule, ${m.title}`,
      explanation: `${m.explanation} (Here carried through d dssim = -(1/d) d ssim: the candidate is -(1/d) times this mistaken SSIM gradient.)`,
      correctFormula: `${DSSIM_CORRECT}, with ${m.correctFormula}`,
      scaleOnly: m.scaleOnly,
      terms: (ctx) => scaledTerms(m.terms(ctx), dssimFactor(ctx)),
      build: (ctx) => m.build(ctx)?.map((v) => dssimFactor(ctx) * v) ?? null,
    }),
  ),
];

// ---- 3dgs-loss --------------------------------------------------------------------------------

const GS_CORRECT =
  'd loss/dx = (1 - lambda)/N sign(x - y) - lambda d ssim/dx, N the number of values of x (N C H W): ' +
  'the L1 term is a mean, so each pixel carries 1/N; for y the sign term is -(1 - lambda)/N sign(x - y)';
const lam = (ctx: MistakeContext): number => -pieces(ctx).factor!;
const l1 = (ctx: MistakeContext): Float64Array => pieces(ctx).offset!;
const plus = (a: Float64Array, b: Float64Array, kb = 1): Float64Array => a.map((v, i) => v + kb * b[i]!);

const gsMistakes: KnownMistake[] = [
  variantMistake({
    kind: '3dgs-l1-not-divided-by-n',
    title: "3DGS loss: the L1 term's gradient not divided by N",
    explanation: "mean|x - y| averages N = N C H W values, so d/dx(p) of it is sign(x(p) - y(p))/N. The candidate differentiates the sum of |x - y|: its L1 part is N times too large and swamps the SSIM part.",
    correctFormula: GS_CORRECT,
    scaleOnly: false,
    build: (ctx) => {
      // on a strip (subsample.ts) the L1 term is carried in the whole images' scale: times their N
      const w = ctx.whole;
      const l1Sum = w === undefined ? l1Gradient(ctx.x, ctx.y, lam(ctx), ctx.wrt, false) : l1(ctx).map((v) => v * w.N * w.C * w.H * w.W);
      return plus(l1Sum, ssimExact(ctx), -lam(ctx));
    },
  }),
  variantMistake({
    kind: '3dgs-ssim-term-sign',
    title: "3DGS loss: the SSIM term's sign (lambda SSIM differentiated instead of lambda (1 - SSIM))",
    explanation: 'The loss has lambda (1 - SSIM), whose gradient is -lambda d ssim/dx. The candidate adds +lambda d ssim/dx.',
    correctFormula: GS_CORRECT,
    scaleOnly: false,
    build: (ctx) => plus(l1(ctx), ssimExact(ctx), lam(ctx)),
  }),
  variantMistake({
    kind: '3dgs-lambda-swapped',
    title: "3DGS loss: lambda and 1 - lambda swapped",
    explanation: 'The loss is (1 - lambda) L1 + lambda (1 - SSIM) with lambda = 0.2 weighting the SSIM term (train.py: (1.0 - opt.lambda_dssim) * Ll1 + opt.lambda_dssim * (1.0 - ssim)). The candidate weights L1 by lambda and the SSIM term by 1 - lambda.',
    correctFormula: GS_CORRECT,
    scaleOnly: false,
    build: (ctx) => {
      const l = lam(ctx);
      if (l === 1) return null;
      return plus(l1(ctx).map((v) => (v * l) / (1 - l)), ssimExact(ctx), -(1 - l));
    },
  }),
  variantMistake({
    kind: '3dgs-l1-dropped',
    title: '3DGS loss: the L1 term left out (only -lambda d ssim/dx)',
    explanation: "The candidate is the SSIM half of the loss's gradient; the L1 half, (1 - lambda)/N sign(x - y), is missing.",
    correctFormula: GS_CORRECT,
    scaleOnly: false,
    build: (ctx) => ssimExact(ctx).map((v) => -lam(ctx) * v),
  }),
  ...KNOWN_MISTAKES.map((m) =>
    variantMistake({
      kind: `3dgs-loss/${m.kind}`,
      title: `in the 3DGS loss's SSIM term, ${m.title}`,
      explanation: `${m.explanation} (Here inside the loss: the candidate is the L1 term's gradient minus lambda times this mistaken SSIM gradient.)`,
      correctFormula: `${GS_CORRECT}, with ${m.correctFormula}`,
      scaleOnly: false,
      build: (ctx) => {
        const g = m.build(ctx);
        return g === null ? null : plus(l1(ctx), g, -lam(ctx));
      },
    }),
  ),
];

// ---- ms-ssim ----------------------------------------------------------------------------------

const MS_CORRECT =
  'd ms-ssim/dx = sum_j P_0^T ... P_{j-1}^T [ W^T g_mu,j + 2 x_j W^T g_xx,j + y_j W^T g_xy,j ], where g_*,j = (d value/d m_j) omega_j dF_j/d(moment) ' +
  '(F_j = cs, S at the last scale), d value/d m_j = (1/P) w_j relu(m_j)^(w_j - 1) prod_{i != j} relu(m_i)^w_i (0 where m_j <= 0), and P^T the transpose of the 2 x 2 average pooling: each coarse value spread over its 2 x 2 block times 1/4';
const ms = (ctx: MistakeContext) => pieces(ctx).ms!;

const msMistakes: KnownMistake[] = [
  variantMistake({
    kind: 'msssim-pool-transpose-no-quarter',
    title: 'MS-SSIM: pooling transposed as plain upsampling, without the 1/4',
    explanation:
      "The 2 x 2 average pooling multiplies each of the four pixels by 1/4, so its transpose spreads a coarse gradient over the 2 x 2 block times 1/4. " +
      "The candidate copies the coarse value into the block (nearest-neighbour upsampling, 4 P^T): scale j's share comes back 4^j times too large.",
    correctFormula: MS_CORRECT,
    scaleOnly: false,
    build: (ctx) => (ms(ctx).scales.length > 1 ? msGradient(ms(ctx), ctx.wrt, { poolFactor: 4 }) : null),
  }),
  variantMistake({
    kind: 'msssim-product-as-sum',
    title: "MS-SSIM: the relu'd product differentiated as a sum (the other scales' factors left out)",
    explanation:
      'MS-SSIM is the product prod_j relu(m_j)^w_j, so by the product rule d/dm_j carries every other factor prod_{i != j} relu(m_i)^w_i. ' +
      'The candidate differentiates sum_j relu(m_j)^w_j: each scale\'s d value/d m_j is w_j relu(m_j)^(w_j - 1) alone, too large by 1/(the other factors).',
    correctFormula: MS_CORRECT,
    scaleOnly: false,
    build: (ctx) => (ms(ctx).scales.length > 1 ? msGradient(msModel(ctx.x, ctx.y, pieces(ctx).options, { asSum: true }), ctx.wrt) : null),
  }),
  variantMistake({
    kind: 'msssim-coarse-scales-detached',
    title: 'MS-SSIM: the coarser scales treated as constants (only the finest scale differentiated)',
    explanation:
      'Every scale is computed from the pooled images, so every scale depends on x: its gradient must be brought back through the pooling transposes. ' +
      'The candidate keeps only scale 0 (as if the pooled images were detached from the graph).',
    correctFormula: MS_CORRECT,
    scaleOnly: false,
    build: (ctx) => (ms(ctx).scales.length > 1 ? msGradient(ms(ctx), ctx.wrt, { onlyScale0: true }) : null),
  }),
  ...perScaleMistakes('ms-ssim'),
];

// ---- wang -------------------------------------------------------------------------------------

const WANG_CORRECT =
  'd wang/dx = W^T g_mu + 2x . W^T g_xx + y . W^T g_xy with g_* = omega dF/d(moment), F = l^alpha c^beta s^gamma over sigma = sqrt(var): ' +
  'dF/dm_xx carries c_n dF/dsigma_x / (2 sigma_x) (0 where var_x = 0) besides dF/dvar_x';

const wangMistakes: KnownMistake[] = [
  variantMistake({
    kind: 'wang-exponents-dropped',
    title: "Wang's general form: SSIM's gradient used (the exponents alpha, beta, gamma ignored)",
    explanation: 'l^alpha c^beta s^gamma is SSIM only for alpha = beta = gamma = 1; otherwise each factor brings its own exponent into the partials (alpha l^(alpha - 1) dl, ...).',
    correctFormula: WANG_CORRECT,
    scaleOnly: false,
    build: (ctx) => ssimExact(ctx).slice(),
  }),
  ...perScaleMistakes('wang'),
  // SSIM's scale mistakes (normalisers, sign) scale Wang's mean the same way
  ...KNOWN_MISTAKES.filter((m) => m.scaleOnly).map((m) =>
    variantMistake({
      kind: `wang/${m.kind}`,
      title: `Wang's general form, ${m.title}`,
      explanation: m.explanation,
      correctFormula: `${WANG_CORRECT}; ${m.correctFormula}`,
      scaleOnly: true,
      build: (ctx) => {
        const g = m.build(ctx);
        if (g === null) return null;
        const k = scaleFit(g, ssimExact(ctx)).k;
        return pieces(ctx).exact.map((v) => k * v);
      },
    }),
  ),
];

/** Mistakes of the per-scale chain rule (SSIM's per-pixel rule, the factor 2, the other image), made at every scale. */
function perScaleMistakes(variant: 'ms-ssim' | 'wang'): KnownMistake[] {
  const grad = (ctx: MistakeContext, side: Side, termsOf: (p: MapParts) => GradientTerms): Float64Array => {
    const p = pieces(ctx);
    return variant === 'ms-ssim' ? msGradient(p.ms!, side, { termsOf }) : sumTerms(termsOf(p.wang!));
  };
  const where = variant === 'ms-ssim' ? 'at every scale' : 'in the chain rule to the pixels';
  const correct = variant === 'ms-ssim' ? MS_CORRECT : WANG_CORRECT;
  const byKind = (k: string): KnownMistake => KNOWN_MISTAKES.find((m) => m.kind === k)!;
  return [
    variantMistake({
      kind: `${variant}/per-pixel-chain-rule`,
      title: `${variant}: ${byKind('per-pixel-chain-rule').title} (${where})`,
      explanation: byKind('per-pixel-chain-rule').explanation,
      correctFormula: correct,
      scaleOnly: false,
      build: (ctx) => grad(ctx, ctx.wrt, (s) => perPixelTerms(s, ctx.wrt)),
    }),
    variantMistake({
      kind: `${variant}/square-term-factor`,
      title: `${variant}: ${byKind('square-term-factor').title} (${where})`,
      explanation: byKind('square-term-factor').explanation,
      correctFormula: correct,
      scaleOnly: false,
      build: (ctx) => grad(ctx, ctx.wrt, (s) => { const t = s.terms[ctx.wrt]; return { ...t, square: t.square.map((v) => v / 2) }; }),
    }),
    variantMistake({
      kind: `${variant}/other-image`,
      title: `${variant}: ${byKind('other-image').title}`,
      explanation: byKind('other-image').explanation,
      correctFormula: correct,
      scaleOnly: false,
      build: (ctx) => grad(ctx, other(ctx.wrt), (s) => s.terms[other(ctx.wrt)]),
    }),
  ];
}

/** The mistakes a variant's candidate is compared with. */
export function variantMistakes(variant: string): readonly KnownMistake[] {
  if (variant === 'dssim') return dssimMistakes;
  if (variant === '3dgs-loss') return gsMistakes;
  if (variant === 'ms-ssim') return msMistakes;
  if (variant === 'wang') return wangMistakes;
  return KNOWN_MISTAKES;
}

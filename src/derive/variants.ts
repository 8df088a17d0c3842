/**
 * Derivation documents for SSIM's variants (src/ssim/variants.ts): each states what the variant
 * computes, its own chain rule on top of SSIM's (whose derivation it links), and the final
 * gradient; every displayed formula has a mathjs twin checked against the implementation.
 */
import { evaluate, toInfix, variable, type Node } from '../expr/index.js';
import { toLatex } from '../emit/latex.js';
import { avgPool2x2, type Tensor } from '../field/index.js';
import { csMap, dSigmaDVar, wangMap } from '../ssim/maps.js';
import { resolveOptions } from '../ssim/options.js';
import { evaluateVariant, MSSSIM_WEIGHTS, msSsimParts, type VariantOptions } from '../ssim/variants.js';
import { pointwiseSsim } from '../ssim/pointwise.js';
import { lcg, NAMED_TEX, randomImage, statistics, VAR_TEX, Writer } from './build.js';
import type { DerivationDoc } from './model.js';

const names = () => {
  const p = pointwiseSsim();
  return { nodes: new Map<number, string>(p.named.map(([n, node]) => [node.id, NAMED_TEX[n]!])), vars: VAR_TEX };
};

/** Samples of a variant's gradient at a few pixels of random images, with the scope a twin needs. */
function gradientSamples(o: VariantOptions, shape: number[], L: number, scope: (r: ReturnType<typeof evaluateVariant>, base: ReturnType<typeof evaluateVariant>, x: Tensor, y: Tensor, q: number) => Record<string, number>) {
  return () => {
    const rand = lcg(91);
    const x = randomImage(rand, shape, L);
    const y = { shape, data: Float64Array.from(x.data, (v) => Math.min(L, Math.max(0, v + 0.2 * L * (rand() - 0.5)))) };
    const r = evaluateVariant(x, y, o);
    const base = evaluateVariant(x, y, { ...o, variant: 'ssim', weights: undefined, lambda: undefined, dssimDivisor: undefined, alpha: undefined, beta: undefined, gamma: undefined });
    return [0, 5, 17].map((q) => ({ scope: scope(r, base, x, y, q), expected: r.gradX[q]! }));
  };
}

function dssimDoc(): DerivationDoc {
  const w = new Writer();
  w.p('DSSIM, the structural dissimilarity, is an affine function of SSIM, so its gradient is SSIM\'s scaled: everything of [the SSIM derivation](ssim-pytorch-ssim.md) holds, followed by one more step. With the default divisor $d = 2$ (`--dssim-divisor 1` gives the loss $1 - \\mathrm{SSIM}$):');
  w.eq('D = \\frac{1 - L}{d}', '(1 - L) / d', () => {
    const rand = lcg(7);
    const x = randomImage(rand, [1, 2, 14, 15], 1);
    const y = randomImage(rand, [1, 2, 14, 15], 1);
    return [1, 2].map((d) => ({ scope: { L: evaluateVariant(x, y, { variant: 'ssim' }).value, d }, expected: evaluateVariant(x, y, { variant: 'dssim', dssimDivisor: d as 1 | 2 }).value }));
  });
  w.p('where $L$ is the SSIM of the chosen preset. Its gradient is $-1/d$ times SSIM\'s (equation 19 of the SSIM derivation):');
  w.eq('\\frac{\\partial D}{\\partial x} = -\\frac{1}{d} \\frac{\\partial L}{\\partial x}', '-dL_dx / d', gradientSamples({ variant: 'dssim' }, [1, 2, 14, 15], 1, (_, base, __, ___, q) => ({ dL_dx: base.gradX[q]!, d: 2 })));
  return { name: 'dssim', title: 'DSSIM: (1 - SSIM) / d and its gradient', summary: 'DSSIM (1 - SSIM)/2, and 1 - SSIM', blocks: w.blocks };
}

function gsDoc(): DerivationDoc {
  const w = new Writer();
  w.p('The training loss of 3D Gaussian splatting (graphdeco-inria/gaussian-splatting, train.py) mixes an L1 term with DSSIM, the rendering $x$ against the ground truth $y$, over $N$ values in all, SSIM $L$ as in [the pytorch-ssim derivation](ssim-pytorch-ssim.md) ($\\lambda = 0.2$ by default, `--lambda`):');
  w.eq('\\mathcal{L} = (1 - \\lambda) \\, \\frac{1}{N} \\sum_p \\lvert x_p - y_p \\rvert + \\lambda \\, (1 - L)', '(1 - lambda) * mean(abs(x - y)) + lambda * (1 - L)', () => {
    const rand = lcg(8);
    const x = randomImage(rand, [1, 3, 12, 13], 1);
    const y = randomImage(rand, [1, 3, 12, 13], 1);
    const r = evaluateVariant(x, y, { variant: '3dgs-loss', lambda: 0.3 });
    return [{ scope: { lambda: 0.3, x: Array.from(x.data), y: Array.from(y.data), L: r.ssim }, expected: r.value }];
  });
  w.p('The absolute value\'s derivative is the sign ($0$ where $x_p = y_p$, as PyTorch takes it), so:');
  w.eq(
    '\\frac{\\partial \\mathcal{L}}{\\partial x} = \\frac{1 - \\lambda}{N} \\operatorname{sgn}(x - y) - \\lambda \\, \\frac{\\partial L}{\\partial x}',
    '(1 - lambda) / N * sign(x - y) - lambda * dL_dx',
    gradientSamples({ variant: '3dgs-loss' }, [1, 3, 12, 13], 1, (_, base, x, y, q) => ({ lambda: 0.2, N: x.data.length, x: x.data[q]!, y: y.data[q]!, dL_dx: base.gradX[q]! })),
  );
  return { name: '3dgs-loss', title: 'The 3D Gaussian splatting loss (1 - lambda) L1 + lambda (1 - SSIM) and its gradient', summary: '3DGS training loss, lambda 0.2', blocks: w.blocks };
}

function msssimDoc(preset: 'pytorch-msssim' | 'tf'): DerivationDoc {
  const w = new Writer();
  const o: VariantOptions = { variant: 'ms-ssim', preset, dataRange: 255 };
  const c = resolveOptions(o);
  const cs = csMap();
  const n = names();
  const rand = lcg(11);
  w.p(
    `MS-SSIM compares the images at $J$ scales (${MSSSIM_WEIGHTS.length} by default, weights $w_j$ = ${MSSSIM_WEIGHTS.join(', ')}), each a 2 x 2 average of the one before. Every scale uses the windows, moments and statistics of [the SSIM derivation](ssim-${preset}.md) (equations 1-9 there): at scales $j < J$ only the contrast-structure term, at the coarsest all of $S$.`,
  );
  w.p(
    preset === 'tf'
      ? 'Pooling (tf.image.ssim_multiscale): an odd size first repeats its last row or column, then 2 x 2 blocks are averaged:'
      : 'Pooling (pytorch-msssim, `avg_pool2d` with padding size % 2 and the padding counted): an odd size gets a zero row or column in front, then 2 x 2 blocks are averaged:',
  );
  w.eq('x^{(j+1)}_{i,k} = \\tfrac{1}{4}\\left(x^{(j)}_{2i,2k} + x^{(j)}_{2i,2k+1} + x^{(j)}_{2i+1,2k} + x^{(j)}_{2i+1,2k+1}\\right)', '(x_0_0 + x_0_1 + x_1_0 + x_1_1) / 4', () => {
    const img = randomImage(rand, [1, 1, 6, 8], 255);
    const pooled = avgPool2x2([1, 1, 6, 8], preset === "tf" ? "symmetric" : "zero").apply(Float64Array.from(img.data));
    const at = (i: number, k: number): number => img.data[i * 8 + k]!;
    return [{ scope: { x_0_0: at(2, 2), x_0_1: at(2, 3), x_1_0: at(3, 2), x_1_1: at(3, 3) }, expected: pooled[1 * 4 + 1]! }];
  });
  w.p('(for even sizes; at an odd border the padding rule above supplies the missing samples). The contrast-structure map and its partials, as the graph holds them:');
  const eqCs = w.eq(`cs = ${toLatex(cs.F, n)}`, toInfix(cs.F), () => Array.from({ length: 6 }, () => { const env = statistics(rand, c); return { scope: { ...env }, expected: evaluate(cs.F, env) }; }));
  for (const [lhs, node] of [['\\frac{\\partial\\, cs}{\\partial \\mu_x}', cs.dX.mu], ['\\frac{\\partial\\, cs}{\\partial m_{xx}}', cs.dX.sq], ['\\frac{\\partial\\, cs}{\\partial m_{xy}}', cs.dX.cross]] as Array<[string, Node]>) {
    w.eq(`${lhs} = ${toLatex(node, n)}`, toInfix(node), () => Array.from({ length: 6 }, () => { const env = statistics(rand, c); return { scope: { ...env }, expected: evaluate(node, env) }; }));
  }
  w.p(`Per image and channel $p$ (one plane), $m_{j,p}$ is the mean over the map of $cs$ (eq. ${eqCs.number}) at scales $j < J$ and of $S$ at $j = J$. The value multiplies the scales and averages the planes ($P$ of them), with relu on each factor:`);
  const small: VariantOptions = { ...o, weights: [0.3, 0.3, 0.4] };
  w.eq('M = \\frac{1}{P} \\sum_p \\prod_{j=1}^{J} \\max(m_{j,p}, 0)^{w_j}', 'mean(prod_p)', () => {
    const { result, parts } = msSsimParts(ms.x, ms.y(), small);
    return [{ scope: { prod_p: Array.from(parts.perPlane) }, expected: result.value }];
  });
  w.p('The product rule gives the adjoint of each scale\'s mean (zero where the mean is not positive, relu\'s derivative there, as PyTorch takes it):');
  w.eq('\\lambda_{j,p} = \\frac{\\partial M}{\\partial m_{j,p}} = \\frac{1}{P} \\, w_j \\, m_{j,p}^{w_j - 1} \\prod_{i \\ne j} m_{i,p}^{w_i}', '1 / P * w_j * m_j ^ (w_j - 1) * others', () => {
    // against the adjoints the implementation propagates, at every scale and plane of the example
    const { parts } = msSsimParts(ms.x, ms.y(), small);
    const P = parts.perPlane.length;
    return parts.means.flatMap((m, j) =>
      Array.from(m, (mj, p) => ({
        scope: { P, w_j: parts.weights[j]!, m_j: mj, others: parts.means.reduce((acc, mi, i) => (i === j ? acc : acc * mi[p]! ** parts.weights[i]!), 1) },
        expected: parts.dMeans[j]![p]!,
      })),
    );
  });
  w.p('Each scale then contributes exactly as SSIM does (equations 17-19 of the SSIM derivation), with the weight $\\omega$ of a map pixel in plane $p$ now $\\lambda_{j,p}$ divided by the map\'s size, and the scales are chained from the coarsest back to the finest through the transpose of the pooling ($P_j^\\top$ spreads each pooled adjoint, a quarter each, over the 2 x 2 block it averaged, and drops what fell on the padding or folds it back onto the repeated edge):');
  w.eq(
    '\\frac{\\partial M}{\\partial x^{(j)}} = W^\\top g^{(j)}_\\mu + 2\\, x^{(j)} \\odot W^\\top g^{(j)}_{xx} + y^{(j)} \\odot W^\\top g^{(j)}_{xy} + P_j^\\top \\frac{\\partial M}{\\partial x^{(j+1)}}',
    'own + pooled_back',
    () => {
      const { result, parts } = msSsimParts(ms.x, ms.y(), small);
      return [0, 40, 333].map((q) => ({ scope: { own: parts.ownX[q]!, pooled_back: parts.backX[q]! }, expected: result.gradX[q]! }));
    },
  );
  w.p('and $\\partial M / \\partial x = \\partial M / \\partial x^{(1)}$. The same with the roles of $x$ and $y$ exchanged gives $\\partial M / \\partial y$.');
  return {
    name: `ms-ssim-${preset}`,
    title: `MS-SSIM and its gradient: ${preset === 'tf' ? 'tf.image.ssim_multiscale' : 'pytorch_msssim.ms_ssim'}`,
    summary: `MS-SSIM, ${preset === 'tf' ? 'TensorFlow pooling (edge repeated)' : 'pytorch-msssim pooling (zero padding counted)'}`,
    blocks: w.blocks,
  };
}

/** A small MS-SSIM example for the twins: 3 scales on 45 x 52 images (the size rule asks for more than 40). */
const ms = {
  x: { shape: [1, 2, 45, 52], data: Float64Array.from({ length: 2 * 45 * 52 }, (_, i) => 128 + 90 * Math.sin(i / 9) * Math.cos(i / 31)) } as Tensor,
  y(): Tensor {
    return { shape: this.x.shape, data: Float64Array.from(this.x.data, (v, i) => v + 12 * Math.sin(i / 3)) };
  },
};

function wangDoc(): DerivationDoc {
  const w = new Writer();
  const n = names();
  const c = resolveOptions({ dataRange: 1 });
  const rand = lcg(13);
  const map = wangMap(1, 1, 1);
  w.p('Wang et al. 2004 (their equation 12) write SSIM as three factors with exponents, $C_3 = C_2 / 2$ and $\\sigma = \\sqrt{\\max(\\sigma^2, 0)}$ (`--alpha --beta --gamma`, 1 by default, when it is SSIM exactly). The moments and statistics are those of [the SSIM derivation](ssim-pytorch-ssim.md), equations 1-9:');
  const general = wangMap(0.5, 2, 1.5);
  w.eq(
    'S_{\\alpha\\beta\\gamma} = \\left(\\frac{A_1}{B_1}\\right)^{\\alpha} \\left(\\frac{2 \\sigma_x \\sigma_y + C_2}{\\sigma_x^2 + \\sigma_y^2 + C_2}\\right)^{\\beta} \\left(\\frac{\\sigma_{xy} + C_3}{\\sigma_x \\sigma_y + C_3}\\right)^{\\gamma}',
    toInfix(general.F),
    () =>
      Array.from({ length: 6 }, () => {
        // a non-integer gamma needs s > 0: statistics with sigma_xy > -C3
        let env = statistics(rand, c);
        while (env.c_n! * (env.m_xy! - env.mu_x! * env.mu_y!) <= -c.C2 / 2) env = statistics(rand, c);
        return { scope: { ...env }, expected: evaluate(general.F, env) };
      }),
  );
  w.p('(the twin is for $\\alpha = 1/2$, $\\beta = 2$, $\\gamma = 3/2$). The square root\'s derivative, $1/(2\\sigma)$, is infinite where a variance is zero; there the gradient takes $\\partial\\sigma/\\partial\\sigma^2 = 0$, so the terms through $\\sigma$ drop out and no NaN or infinity reaches the gradient. The guard $\\epsilon$ is a normal float32 number, so that the float32-arithmetic rounding floor follows the same rule (a guard of $10^{-300}$ rounds to 0 in float32, where $H(0)/\\sqrt{0} = 0 \\cdot \\infty$ is NaN):');
  w.eq('\\frac{\\partial \\sigma_x}{\\partial \\sigma_x^2} = \\frac{H(\\sigma_x^2)}{2 \\sqrt{\\max(\\sigma_x^2, \\epsilon)}}, \\qquad \\epsilon = 10^{-30}', 'step(v) / (2 * sqrt(step(v - 1e-30) * v + (1 - step(v - 1e-30)) * 1e-30))', () =>
    // against the node the Wang map's partials are built with; max(v, 1e-30) spelled with step, since
    // mathjs's max compares within its epsilon and takes 1e-40 for as large as 1e-30
    [-1e-12, 0, 1e-40, 1e-30, 0.04, 0.5].map((v) => ({ scope: { v, step: (t: number) => (t > 0 ? 1 : 0) } as unknown as Record<string, number>, expected: evaluate(dSigmaDVar(variable('v')), { v }) })),
  );
  w.p('With this rule, the partials with respect to the raw moments, as the graph holds them (here for $\\alpha = \\beta = \\gamma = 1$, where they equal SSIM\'s), feed the same chain rule as SSIM\'s (equations 17-19 there):');
  w.eq(`\\frac{\\partial S_{111}}{\\partial m_{xy}} = ${toLatex(map.dX.cross, n)}`, toInfix(map.dX.cross), () =>
    Array.from({ length: 6 }, () => { const env = statistics(rand, c); return { scope: { ...env }, expected: evaluate(map.dX.cross, env) }; }),
  );
  return { name: 'wang', title: "Wang et al.'s general form l^alpha c^beta s^gamma and its gradient", summary: 'the general form of Wang et al. 2004', blocks: w.blocks };
}

export function variantDerivations(): DerivationDoc[] {
  return [msssimDoc('pytorch-msssim'), msssimDoc('tf'), dssimDoc(), gsDoc(), wangDoc()];
}

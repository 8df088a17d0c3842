/**
 * Multi-scale SSIM. At scales j < J-1 the per-channel mean of cs = A2/B2, at the last the
 * per-channel mean of S; each passed through relu, raised to its weight and multiplied; the mean
 * over channels and images. Between scales both images are 2 x 2 average-pooled: with a zero
 * row/column in front of an odd size (pytorch-msssim, VainF/pytorch-msssim pytorch_msssim/ssim.py
 * `ms_ssim`), or the last one repeated (`tf.image.ssim_multiscale`,
 * tensorflow/python/ops/image_ops_impl.py) for the tf preset. The product rule across scales and
 * the pooling's transpose between them come from reverse mode over this graph.
 */
import { InputError } from '../field/index.js';
import { csMap } from '../model/maps.js';
import { defineVariant } from './define.js';

/** pytorch-msssim's and TensorFlow's default MS-SSIM weights (Wang, Simoncelli, Bovik 2003). */
export const MSSSIM_WEIGHTS: readonly number[] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/** MS-SSIM's option, as the library's types spell it. */
export interface MsSsimOptions {
  /** One weight per scale (their count is the number of scales; MSSSIM_WEIGHTS by default). */
  weights?: readonly number[];
}

export default defineVariant({
  name: 'ms-ssim',
  summary: 'multi-scale SSIM: prod_j relu(mean cs_j)^w_j (S at the coarsest), 2 x 2 pooling between scales',
  options: {
    weights: {
      kind: 'numbers',
      default: MSSSIM_WEIGHTS,
      noun: 'weights',
      help: 'ms-ssim: comma-separated weights, one per scale',
      check: (v) => (Array.isArray(v) && v.every((w) => w >= 0) ? undefined : 'expected one or more numbers >= 0'),
    },
  },
  doc: [
    { document: 'ms-ssim-pytorch-msssim', title: 'MS-SSIM and its gradient: pytorch_msssim.ms_ssim', summary: 'MS-SSIM, pytorch-msssim pooling (zero padding counted)', options: { preset: 'pytorch-msssim' } },
    { document: 'ms-ssim-tf', title: 'MS-SSIM and its gradient: tf.image.ssim_multiscale', summary: 'MS-SSIM, TensorFlow pooling (edge repeated)', options: { preset: 'tf', dataRange: 255 } },
    {
      p: `MS-SSIM compares the images at $J$ scales (${MSSSIM_WEIGHTS.length} by default, weights $w_j$ = ${MSSSIM_WEIGHTS.join(', ')}), each a 2 x 2 average $P$ of the one before. Every scale uses the windows, moments and statistics of SSIM: at scales $j < J$ only the per-plane mean of the contrast-structure term $\\mathrm{cs} = A_2 / B_2$, at the coarsest the mean of all of $S$. The value multiplies the scales, each through relu and raised to its weight, and averages the planes (images and channels); relu's derivative is taken as 0 where a mean is not positive, as PyTorch takes it.`,
    },
    { only: 'ms-ssim-pytorch-msssim', p: 'Pooling as pytorch-msssim does it (`avg_pool2d` with padding size % 2, the padding counted): an odd size gets a zero row or column in front, then 2 x 2 blocks are averaged; its transpose spreads each pooled adjoint, a quarter each, over the block it averaged and drops what fell on the padding. The SSIM of one scale is derived in [the pytorch-msssim SSIM derivation](ssim-pytorch-msssim.md).' },
    { only: 'ms-ssim-tf', p: 'Pooling as tf.image.ssim_multiscale does it: an odd size first repeats its last row or column, then 2 x 2 blocks are averaged; its transpose spreads each pooled adjoint, a quarter each, over the block it averaged and folds what fell on the repeated edge back onto it. The SSIM of one scale is derived in [the tf SSIM derivation](ssim-tf.md).' },
  ],
  downsamples: false,
  loss: ({ x, y, values, config, g }) => {
    const weights = values.weights as readonly number[];
    const J = weights.length;
    const [, , H, W] = x.shape;
    const need = (config.size - 1) * 2 ** (J - 1);
    if (Math.min(H, W) <= need) {
      throw new InputError(`x: MS-SSIM with ${J} scales and a ${config.size}-tap window needs images larger than ${need} pixels on the shorter side, got ${H} x ${W}`);
    }
    const mode = config.preset === 'tf' ? 'symmetric' : 'zero';
    const means: Record<string, typeof x> = {};
    let [xj, yj] = [x, y];
    for (let j = 0; j < J; j++) {
      if (j > 0) [xj, yj] = [g.pool(xj, mode), g.pool(yj, mode)];
      means[`m${j}`] = j === J - 1 ? g.ssimPlanes(xj, yj) : g.csPlanes(xj, yj);
    }
    const { e } = g;
    // each scale's factor relu(m)^w, with its own partial: w m^(w-1) for m > 0 and 0 for m <= 0
    // (as torch's relu at 0; the symbolic one would be 0 x infinity there); the product of the
    // factors is a plain map, so reverse mode gives the product rule across the scales
    const factors: Record<string, typeof x> = {};
    weights.forEach((w, j) => {
      factors[`f${j}`] = g.map(({ m }) => e.powv(e.relu(m!), e.num(w)), { m: means[`m${j}`]! }, {
        label: `relu(m${j})^w${j}`,
        partials: ({ m }) => ({ m: e.mul(e.step(m!), w, e.powv(e.max(m!, e.num(1e-300)), e.num(w - 1))) }),
      });
    });
    const perPlane = g.map((v) => e.mul(...weights.map((_, j) => v[`f${j}`]!)), factors, { label: 'ms-ssim' });
    return g.mean(perPlane);
  },
  scaleNote: "MS-SSIM's gradient is a product over scales, not a multiple of SSIM's",
  kernels: [
    {
      name: 'cs',
      map: csMap,
      params: {},
      what: "MS-SSIM's contrast-structure map cs = A2 / B2",
      note: 'MS-SSIM calls them with planeOmega (its product rule weighs each image and channel differently)\nand reads planeSums, the per-plane sums of cs.',
      storages: ['F64'],
      unrolled: [11],
      f32Arith: true,
    },
  ],
});

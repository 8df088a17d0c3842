/**
 * The 3D Gaussian splatting loss (graphdeco-inria/gaussian-splatting train.py):
 * (1 - lambda) mean|x - y| + lambda (1 - SSIM), lambda = 0.2 by default, x the rendering.
 * d|u|/du = sign(u), 0 at 0, as torch.
 */
import { l1Pixel, ssimMap } from '../model/maps.js';
import { defineVariant } from './define.js';

/** The 3DGS loss's option, as the library's types spell it. */
export interface GsLossOptions {
  /** The weight of the (1 - SSIM) term (0.2 by default, in [0, 1]). */
  lambda?: number;
}

export default defineVariant({
  name: '3dgs-loss',
  summary: '(1 - lambda) mean|x - y| + lambda (1 - SSIM), the 3D Gaussian splatting loss',
  options: {
    lambda: {
      kind: 'number',
      default: 0.2,
      noun: 'lambda',
      help: '3dgs-loss: weight of (1 - SSIM) in (1 - lambda) L1 + lambda (1 - SSIM)',
      check: (v) => (typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'expected a number in [0, 1]'),
    },
  },
  doc: [
    { document: '3dgs-loss', title: 'The 3D Gaussian splatting loss (1 - lambda) L1 + lambda (1 - SSIM) and its gradient', summary: '3DGS training loss, lambda 0.2' },
    {
      p: 'The training loss of 3D Gaussian splatting (graphdeco-inria/gaussian-splatting, train.py) mixes an L1 term with DSSIM, the rendering $x$ against the ground truth $y$, SSIM as in [the pytorch-ssim derivation](ssim-pytorch-ssim.md) ($\\lambda = 0.2$ by default, `--lambda`). The absolute value\'s derivative is the sign, $0$ where $x = y$, as PyTorch takes it.',
    },
  ],
  loss: ({ x, y, values, g }) => {
    const lambda = values.lambda as number;
    const { e } = g;
    const l1 = g.mean(g.map(({ a, b }) => e.abs(e.sub(a!, b!)), { a: x, b: y }, { label: '|x - y|' }));
    return g.map(({ l, s }) => e.add(e.mul(1 - lambda, l!), e.mul(lambda, e.sub(1, s!))), { l: l1, s: g.ssim(x, y) }, { label: '3dgs-loss' });
  },
  tiles: true,
  scaleNote: "the exact gradient carries d loss/d ssim = -lambda and SSIM's 1/N, beside the L1 term",
  kernels: [
    {
      name: 'gsLoss',
      map: ssimMap,
      pixel: l1Pixel,
      params: {},
      what: 'the 3DGS loss kernels: the omega-weighted SSIM map and the pixelOmega-weighted L1 term in one kernel',
      note: [
        'The loss (1 - lambda) mean|x - y| + lambda (1 - SSIM) is lambda plus what these kernels return with',
        'omega = -lambda / (map pixels in the region) and pixelOmega = (1 - lambda) / (N C H W); d|u|/du = sign(u), 0 at 0.',
        'The L1 term and its gradient are fused into the last pass (pass 1 of the value kernel, pass 4 of the gradient).',
      ].join('\n'),
      storages: ['F64', 'F32'],
      unrolled: [11],
      f32Arith: false,
    },
  ],
});

/** DSSIM, the structural dissimilarity (1 - SSIM) / d, d = 2 by default or 1 (the loss 1 - SSIM). */
import { defineVariant } from './define.js';

/** DSSIM's option, as the library's types spell it. */
export interface DssimOptions {
  /** (1 - SSIM) / dssimDivisor, 2 (default) or 1. */
  dssimDivisor?: 1 | 2;
}

export default defineVariant({
  name: 'dssim',
  summary: '(1 - SSIM) / d, d = 2 (default) or 1',
  options: {
    dssimDivisor: {
      flag: 'dssim-divisor',
      kind: 'number',
      default: 2,
      help: 'dssim: (1 - SSIM) / d with d = 2 or 1',
      check: (v) => (v === 1 || v === 2 ? undefined : 'expected 1 or 2'),
    },
  },
  doc: [
    { document: 'dssim', title: 'DSSIM: (1 - SSIM) / d and its gradient', summary: 'DSSIM (1 - SSIM)/2, and 1 - SSIM' },
    {
      p: "DSSIM, the structural dissimilarity, is an affine function of SSIM, so its gradient is SSIM's scaled: everything of [the SSIM derivation](ssim-pytorch-ssim.md) holds, followed by one more step. The default divisor is $d = 2$; `--dssim-divisor 1` gives the loss $1 - \\mathrm{SSIM}$.",
    },
  ],
  tiles: true,
  loss: ({ x, y, values, g }) => {
    const d = values.dssimDivisor as number;
    return g.map(({ s }) => g.e.div(g.e.sub(1, s!), d), { s: g.ssim(x, y) }, { label: 'dssim' });
  },
});

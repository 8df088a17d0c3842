/** Plain SSIM: the mean of the SSIM map over its region, as the preset says (the default variant). */
import { ssimMap } from '../model/maps.js';
import { defineVariant } from './define.js';

export default defineVariant({
  name: 'ssim',
  summary: 'SSIM itself, as the preset and options say',
  loss: ({ x, y, g }) => g.ssim(x, y),
  tiles: true,
  computedBy: 'ssim-kernels',
  outputs: 'ssim',
  scaleNote: 'the exact gradient is d SSIM/dx itself',
  kernels: [
    {
      name: 'ssim',
      map: ssimMap,
      params: {},
      what: 'SSIM kernels',
      note: [
        "Temporaries keep the derivation's names: mu_x, var_x, cov, A1, B1, A2, B2, S; g_* are omega dS/d(moment).",
        'Equation numbers refer to derivations/ssim-<preset>.md (ssim-matlab.md numbers one higher: it opens with',
        'the downsampling, which runs before these kernels).',
      ].join('\n'),
      storages: ['F64', 'F32'],
      unrolled: [7, 11],
      f32Arith: true,
    },
  ],
});

/** Plain SSIM: the mean of the SSIM map over its region, as the preset says (the default variant). */
import { defineVariant } from './define.js';

export default defineVariant({
  name: 'ssim',
  summary: 'SSIM itself, as the preset and options say',
  loss: ({ x, y, g }) => g.ssim(x, y),
  tiles: true,
  scaleNote: 'the exact gradient is d SSIM/dx itself',
});

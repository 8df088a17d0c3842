/**
 * Masked SSIM, the 3D Gaussian splatting masked loss: the SSIM map weighted by a per-pixel mask m,
 *
 *   value = mean(m S) / mean(m) = sum_{n,c,i,j} m[n,0,i,j] S[n,c,i,j] / (C sum_{n,i,j} m[n,0,i,j]),
 *
 * with m of shape [N,1,H,W] (or [H,W]) broadcast over the channels, S the SSIM map on the image's
 * grid (a boundary rule that keeps the size: the pytorch-ssim preset's 'same', or reflect, mirror,
 * replicate). m is a constant: the gradient is with respect to x and y only.
 *
 *   npx ssim-grad value X Y --variant-file examples/variants/masked-ssim.ts --mask M.npy
 *   npx ssim-grad grad X Y --variant-file examples/variants/masked-ssim.ts --mask M.npy --out G.npy
 *
 * Library: evaluateVariant(x, y, { variant: maskedSsim, variantOptions: { mask } }).
 * The loss builds nodes with ctx.g only (never with imported functions), so it works with
 * whichever copy of ssim-grad loaded this file.
 */
import { defineVariant } from 'ssim-grad';

export default defineVariant({
  name: 'masked-ssim',
  summary: 'mean(m S) / mean(m): the SSIM map weighted by a per-pixel mask m (the 3DGS masked loss)',
  options: {
    mask: {
      kind: 'field',
      noun: 'a mask',
      help: 'per-pixel weights m >= 0, shape [N,1,H,W] or [H,W] (broadcast over channels), a .npy or .png',
    },
  },
  // the mask lives on the image's grid, so the images are not downsampled first
  downsamples: false,
  loss: ({ x, y, fields, g }) => {
    const m = fields.mask!;
    return g.div(g.mean(g.mul(m, g.ssimMap(x, y))), g.mean(m));
  },
  doc: [
    { p: 'SSIM weighted by a per-pixel mask m (3D Gaussian splatting trained with a mask): the mean of m S over pixels, channels and images, divided by the mean of m; m broadcasts over the channels and is a constant.' },
    { p: 'That is $L = \\sum_{n,c,i,j} m_{n,i,j} S_{n,c,i,j} / (C \\sum_{n,i,j} m_{n,i,j})$.' },
    { p: 'Its gradient is that of the SSIM map with the map pixels weighted by m / (C sum m) instead of 1 / (N C H W): the window transpose W^T carries the weights to the image pixels.' },
  ],
  scaleNote: 'the exact gradient carries the mask: the map pixel (n, c, i, j) is weighted by m[n,i,j] / (C sum m)',
});

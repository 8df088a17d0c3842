/**
 * SSIM on luma: a linear RGB to Y conversion before SSIM,
 *
 *   Y = c_R R + c_G G + c_B B at every pixel,   value = SSIM(Y(x), Y(y)),
 *
 * with the BT.709 coefficients (0.2126, 0.7152, 0.0722) by default, or any three (BT.601:
 * --coefficients 0.299,0.587,0.114). The images must have three channels (R, G, B); the gradient
 * reaching each channel is c_k times the gradient with respect to Y (the matrix's transpose).
 *
 *   npx ssim-grad value X Y --variant-file examples/variants/luma-ssim.ts [--coefficients a,b,c]
 *
 * Library: evaluateVariant(x, y, { variant: lumaSsim, variantOptions: { coefficients } }).
 * The loss builds nodes with ctx.g only, so it works with whichever copy of ssim-grad loaded it.
 */
import { defineVariant, type FieldNode } from 'ssim-grad';

/** ITU-R BT.709's luma coefficients for R, G, B. */
export const BT709: readonly number[] = [0.2126, 0.7152, 0.0722];

export default defineVariant({
  name: 'luma-ssim',
  summary: 'SSIM of the luma Y = c_R R + c_G G + c_B B of RGB images (BT.709 by default)',
  options: {
    coefficients: {
      kind: 'numbers',
      default: BT709,
      noun: 'coefficients',
      help: 'luma-ssim: comma-separated weights of R, G, B in Y (default BT.709; BT.601 is 0.299,0.587,0.114)',
      check: (v) => (Array.isArray(v) && v.length === 3 ? undefined : 'expected three numbers, the weights of R, G and B'),
    },
  },
  loss: ({ x, y, values, g }) => {
    const c = values.coefficients as readonly number[];
    if (x.shape[1] !== 3) throw new Error(`luma-ssim needs RGB images (3 channels), got ${x.shape[1]} channel(s)`);
    const luma = (a: FieldNode): FieldNode => g.channels(a, [c]);
    return g.ssim(luma(x), luma(y));
  },
  doc: [
    { p: 'SSIM of the luma of two RGB images: a 1 x 3 matrix across channels at every pixel, then SSIM of the one-channel images.' },
    { p: 'That is $Y = c_R R + c_G G + c_B B$ and $L = \\mathrm{SSIM}(Y(x), Y(y))$.' },
    { p: 'The channel matrix is linear, so its transpose carries dL/dY back: dL/dx_k = c_k dL/dY for k = R, G, B.' },
  ],
  scaleNote: 'the exact gradient is c_k times d SSIM(Y)/dY in channel k',
});

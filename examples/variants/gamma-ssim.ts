/**
 * SSIM of gamma-encoded images: a pointwise curve applied to every pixel before SSIM,
 *
 *   c(v) = (v + e)^p - e^p,   value = SSIM(c(x), c(y)),
 *
 * with p = 0.45 by default (--exponent; Rec. 709's exponent, about 1/2.2), the curve that encodes linear light, and
 * e = 1e-3 so that the curve's slope p (v + e)^(p - 1) stays finite at a black pixel (x^p alone
 * has an infinite slope at 0, and a gradient of Infinity there). The gradient reaching each pixel
 * is the curve's slope there times the gradient with respect to c(x).
 *
 *   npx ssim-grad value X Y --variant-file examples/variants/gamma-ssim.ts [--exponent 0.4545]
 *   npx ssim-grad derive --variant-file examples/variants/gamma-ssim.ts --exponent 2
 *
 * Library: evaluateVariant(x, y, { variant: gammaSsim, variantOptions: { exponent } }).
 * The loss builds nodes with ctx.g only, so it works with whichever copy of ssim-grad loaded it.
 */
import { defineVariant, type FieldNode } from 'ssim-grad';

/** The offset that keeps the curve's slope finite at 0. */
export const OFFSET = 1e-3;

export default defineVariant({
  name: 'gamma-ssim',
  summary: 'SSIM of the gamma-encoded images (v + e)^p - e^p (p = 0.45 by default, e = 1e-3)',
  options: {
    exponent: {
      kind: 'number',
      default: 0.45,
      noun: 'the exponent',
      help: 'gamma-ssim: the curve\'s exponent p (default 0.45, Rec. 709; 1/2.2 is 0.4545)',
      check: (v) => (typeof v === 'number' && v > 0 && v <= 10 ? undefined : 'expected a number in (0, 10]'),
    },
  },
  loss: ({ x, y, values, g }) => {
    const p = values.exponent as number;
    const { e } = g;
    // powv: the exponent is any number, not only a rational of moderate size
    const curve = (a: FieldNode, label: string): FieldNode => g.map(({ v }) => e.sub(e.powv(e.add(v!, OFFSET), p), OFFSET ** p), { v: a }, { label });
    return g.ssim(curve(x, 'c_x'), curve(y, 'c_y'));
  },
  doc: [
    { p: 'SSIM of gamma-encoded images: the curve $c(v) = (v + \\epsilon)^p - \\epsilon^p$ at every pixel ($p = 0.45$ by default, about $1/2.2$; $\\epsilon = 10^{-3}$ keeps its slope finite at 0), then SSIM of the encoded images.' },
    { p: 'The curve is pointwise, so reverse mode hands each pixel its slope $p\\,(v + \\epsilon)^{p-1}$ times the adjoint of its encoded value.' },
  ],
  scaleNote: 'the exact gradient is the curve\'s slope p (v + e)^(p - 1) times d SSIM/d c(x) at each pixel',
});

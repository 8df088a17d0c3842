/**
 * `ssim` and `ssimGrad`, the library's first two functions, in a file of their own: what they load
 * is the generated SSIM kernels and the options, nothing else, so that a bundle of these two alone
 * stays small (the browser's `ssim-grad/browser/ssim`; test/browser/bundle.test.ts holds its size).
 */
import type { Tensor } from '../field/index.js';
import { ssimFast, ssimGradFast } from './fast.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';

/** The SSIM of x and y (tensors HW, CHW or NCHW) under the options (default preset pytorch-ssim). */
export function ssim(x: Tensor, y: Tensor, options: SsimOptions = {}): number {
  return ssimFast(x, y, options, resolveOptions(options).precision);
}

/**
 * SSIM and its exact gradients d ssim / dx and d ssim / dy, each with x's shape: Float64Array
 * (default) or Float32Array with `precision: 'float32'`. Runs on the generated kernels.
 */
export function ssimGrad(x: Tensor, y: Tensor, options: SsimOptions = {}): { ssim: number; gradX: Tensor; gradY: Tensor } {
  const r = ssimGradFast(x, y, options, resolveOptions(options).precision, 'both');
  return { ssim: r.ssim, gradX: r.gradX, gradY: r.gradY! };
}

/** SSIM over images: the public functions, options and presets. */
import type { Tensor } from '../field/index.js';
import type { SsimOptions } from './options.js';
import { ssimGradReference, ssimReference } from './reference.js';

export { PRESET_DEFAULTS, PRESET_SUMMARY, PRESETS, resolveOptions, type PresetName, type SsimConfig, type SsimOptions } from './options.js';
export { pointwiseSsim, type PointwiseSsim } from './pointwise.js';
export { evaluateSsim, ssimGradReference, ssimReference, type GradientTerms, type SsimEvaluation } from './reference.js';

/** The SSIM of x and y (tensors HW, CHW or NCHW) under the options (default preset pytorch-ssim). */
export function ssim(x: Tensor, y: Tensor, options: SsimOptions = {}): number {
  return ssimReference(x, y, options);
}

/** SSIM and its exact gradients d ssim / dx and d ssim / dy, float64, each with x's shape. */
export function ssimGrad(x: Tensor, y: Tensor, options: SsimOptions = {}): { ssim: number; gradX: Tensor; gradY: Tensor } {
  return ssimGradReference(x, y, options);
}

/** SSIM over images: the public functions, options and presets. */
import type { Tensor } from '../field/index.js';
import { ssimFast, ssimGradFast } from './fast.js';
import { resolveOptions, type SsimOptions } from '../model/options.js';

export {
  MAX_DOWNSAMPLE, MAX_WINDOW_SIZE, PRESET_DEFAULTS, PRESET_SUMMARY, PRESETS, resolveOptions, SSIM_OPTION_KEYS, validateOptions, type PresetName, type SsimConfig, type SsimOptions,
} from '../model/options.js';
export { NonFiniteError, overflowMessage } from '../model/finite.js';
export { pointwiseSsim, type PointwiseSsim } from '../model/pointwise.js';
export { evaluateSsim, onImageGrid, ssimGradReference, ssimReference, type GradientTerms, type SsimEvaluation } from './reference.js';

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

export { planKernel, ssimFast, ssimGradFast, ssimGradFloat32Arith, ssimGradXFloat32Arith, type KernelPlan } from './fast.js';

export { PARALLEL_MIN_PIXELS, ssimAsync, ssimGradAsync, ssimGradFastAsync, terminateWorkers, type ParallelOptions } from './parallel.js';

export { evaluateVariant, MSSSIM_WEIGHTS, VARIANTS, type Variant, type VariantOptions, type VariantResult } from './variants.js';

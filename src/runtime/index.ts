/** SSIM over images: the public functions, options and presets. */
export {
  MAX_DOWNSAMPLE, MAX_WINDOW_SIZE, PRESET_DEFAULTS, PRESET_SUMMARY, PRESETS, resolveOptions, SSIM_OPTION_KEYS, validateOptions, type PresetName, type SsimConfig, type SsimOptions,
} from '../model/options.js';
export { NonFiniteError, overflowMessage } from '../model/finite.js';
export { pointwiseSsim, type PointwiseSsim } from '../model/pointwise.js';
export { evaluateSsim, onImageGrid, ssimGradReference, ssimReference, type GradientTerms, type SsimEvaluation } from './reference.js';

export { ssim, ssimGrad } from './ssim.js';

export { planKernel, ssimFast, ssimGradFast, ssimGradFloat32Arith, ssimGradXFloat32Arith, type KernelPlan } from './fast.js';

export { evaluateVariant, MSSSIM_WEIGHTS, VARIANTS, type Variant, type VariantOptions, type VariantResult } from './variants.js';

/**
 * The checker: compares a candidate gradient with the exact one, decides whether the difference
 * is rounding (against the measured floor), and says what the mistake is when it is not. The
 * report's shape is schema.ts, the two paths to it pipeline.ts, the verdict verdict.ts, its
 * sentences wording.ts.
 */
import type { SsimOptions } from '../runtime/index.js';
import { resolveOptions, validateOptions } from '../model/options.js';
import { bySsimKernels } from '../variants/registry.js';
import { checkSubsampled, checkWhole } from './pipeline.js';
import type { CheckInput, CheckResult } from './schema.js';
import { planFor } from './subsample.js';
import { declarationOf, plainOptions } from './variant-model.js';

/** Checks a candidate gradient against the exact one. */
export function checkGradient(input: CheckInput): CheckResult {
  validateOptions(input.options); // before anything reads them: wrong types and unknown keys named
  const variant = declarationOf(input.options);
  // computed by the SSIM kernels (plain SSIM): the options are SSIM's as given, the exact gradient and its terms the SSIM evaluation's
  const options: SsimOptions = bySsimKernels(variant) ? input.options : plainOptions(input.options);
  const plan = input.subsample === false ? null : planFor(input.x, resolveOptions(options), variant, input.subsample, input.options);
  return plan === null ? checkWhole(input, variant, options) : checkSubsampled(input, variant, options, plan);
}

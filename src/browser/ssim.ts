/**
 * `ssim-grad/browser/ssim`: SSIM's value and exact gradients alone, for a page that needs nothing
 * else (no variants, checker, derivations or mathjs): the generated SSIM kernels and the options.
 * Built by scripts/build-browser.ts into dist/web/ssim.js; its size is held by
 * test/browser/bundle.test.ts (the budget the README states).
 */
export { ssim, ssimGrad } from '../runtime/ssim.js';
export { InputError, type Tensor } from '../field/index.js';
export { NonFiniteError } from '../model/finite.js';
export { PRESETS, type PresetName, type SsimOptions } from '../model/options.js';

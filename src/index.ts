/** ssim-grad's library face. */
export * from './expr/index.js';
export { pointwiseSsim, type PointwiseSsim } from './ssim/pointwise.js';

/** ssim-grad's library face. */
export * from './expr/index.js';
export * from './field/index.js';
export * from './ssim/index.js';
export * from './io/index.js';
export * from './check/index.js';

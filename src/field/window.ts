/** Window taps: the 1-D factors of the separable windows every preset uses. */

/**
 * Normalised Gaussian taps t_i = exp(-(i - (size-1)/2)^2 / (2 sigma^2)) / sum, in float64.
 * (pytorch-ssim and pytorch-msssim compute the same taps in float32; scipy computes them in
 * float64 as exp(-0.5 x^2 / sigma^2); tf's 2-D softmax kernel is their outer product.)
 */
export function gaussianTaps(size: number, sigma: number): Float64Array {
  const c = (size - 1) / 2;
  const t = Float64Array.from({ length: size }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * sigma * sigma)));
  const sum = t.reduce((a, b) => a + b, 0);
  return t.map((v) => v / sum);
}

/** Box taps 1/size. */
export function boxTaps(size: number): Float64Array {
  return new Float64Array(size).fill(1 / size);
}

/** scipy's Gaussian radius for a truncation: int(truncate * sigma + 0.5). */
export const truncatedRadius = (sigma: number, truncate: number): number => Math.floor(truncate * sigma + 0.5);

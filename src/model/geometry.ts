/**
 * The size of the SSIM map: the one rule that mapGeometry (options.ts), the generated kernels'
 * set-up and the worker threads' row bands (_internals/job.ts) share. Kept apart from options.ts so
 * that the kernels and the workers import it without the options' presets and the variant registry.
 */
import type { Boundary } from '../field/axis.js';

/** Height and width of the SSIM map. */
export interface MapSize {
  readonly MH: number;
  readonly MW: number;
}

/**
 * The SSIM map's size for images of H x W under a boundary rule and windows of kh x kw taps: the
 * image's under the same-size rules, one value per window that fits under 'valid'.
 */
export function mapSize(padding: Boundary, H: number, W: number, kh: number, kw: number): MapSize {
  return { MH: mapLength(padding, H, kh), MW: mapLength(padding, W, kw) };
}

/** The map's length along one axis of n samples, windows of k taps (what the generated kernels call). */
export function mapLength(padding: Boundary, n: number, k: number): number {
  return padding === 'valid' ? n - k + 1 : n;
}

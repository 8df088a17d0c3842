/** The parameters every generated SSIM kernel takes (hand-written; the generated files import it). */
import type { Boundary } from '../field/axis.js';

export interface KernelParams {
  /** Batch, channels, height, width of x and y (NCHW, C order). */
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  /**
   * The boundary rule: how the windows read outside the image (and how their adjoint folds back).
   * It builds the kernel's index tables; under 'valid' the map shrinks by the window size - 1.
   */
  readonly padding: Boundary;
  /** Normalised window taps along H and along W (odd lengths; [1] leaves an axis unsmoothed). */
  readonly tapsH: Float64Array;
  readonly tapsW: Float64Array;
  readonly C1: number;
  readonly C2: number;
  /** Covariance normaliser NP/(NP-1), or 1. */
  readonly c_n: number;
  /** Pixels cropped from each side of the SSIM map before the reduction. */
  readonly crop: number;
  /** Reduction weight of one map pixel (1/count for a mean). */
  readonly omega: number;
  /** A weight per (image, channel) plane instead of `omega` (MS-SSIM's product rule gives one per plane). */
  readonly planeOmega?: Float64Array;
  /** If given, receives each plane's unweighted sum of the map over the region (N x C values). */
  readonly planeSums?: Float64Array;
  /**
   * If given, receives each map row's unweighted sum over the region (N x C x MH values, MH the map's
   * height; zero outside the region). A plane's sum is these added in row order, so row bands run on
   * worker threads combine to the single-thread kernel's bits.
   */
  readonly rowSums?: Float64Array;
  /** The weight of each pixel's term in a family with one (the 3DGS loss's (1 - lambda) / (N C H W); 0 by default). */
  readonly pixelOmega?: number;
  /** Wang's exponents (its kernels' runtime parameters; 1 by default). */
  readonly alpha?: number;
  readonly beta?: number;
  readonly gamma?: number;
}

/** Where the value-and-gradient kernels write: d/dx always, d/dy when `gradY` is given. */
export interface GradientOutputs<A> {
  readonly gradX: A;
  readonly gradY: A | null;
}

/** Where the JVP kernels write: the directional derivative, and the map with its tangent when both are given. */
export interface JvpOutputs<A> {
  /** Receives the directional derivative in element 0. */
  readonly tangent: Float64Array;
  /** N x C x MH x MW: the map at every window position (uncropped), or null. */
  readonly map: A | null;
  /** The map's tangent, the same size (given with `map`). */
  readonly mapTangent: A | null;
}

/** Where the HVP kernels write: d/dx and the Hessian's x row times the direction always, y's when `hvpY` (and `gradY`) are given. */
export interface HvpOutputs<A> {
  readonly gradX: A;
  readonly hvpX: A;
  readonly gradY: A | null;
  readonly hvpY: A | null;
}

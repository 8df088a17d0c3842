/**
 * Pointwise maps of the window moments beyond S itself (the contrast-structure term cs = A2/B2
 * that MS-SSIM multiplies across scales), and, for any such map F, the per-plane means of F over
 * the region and the exact gradient of a weighted sum of those means:
 *
 *   d/dx sum_p lambda_p mean_p(F) = W^T g_mu + 2 x W^T g_xx + y W^T g_xy,  g = lambda_plane omega dF/d(moment)
 *
 * the same chain rule as SSIM's (reference.ts), with a weight per (image, channel) plane.
 */
import { div, evaluateVec, grad, type Node } from '../expr/index.js';
import { sizeOf, type Shape4 } from '../field/index.js';
import type { SsimConfig } from './options.js';
import { pointwiseSsim } from './pointwise.js';
import { windowAndRegion } from './reference.js';

/** A pointwise map F(mu_x, mu_y, m_xx, m_yy, m_xy; C1, C2, c_n) and its partials. */
export interface MapGraph {
  readonly name: string;
  readonly F: Node;
  readonly dX: { readonly mu: Node; readonly sq: Node; readonly cross: Node };
  readonly dY: { readonly mu: Node; readonly sq: Node; readonly cross: Node };
}

/** S itself. */
export function ssimMap(): MapGraph {
  const p = pointwiseSsim();
  return { name: 'S', F: p.S, dX: p.partialsX, dY: p.partialsY };
}

/** The contrast-structure term cs = A2 / B2 (MS-SSIM's factor at every scale but the last). */
export function csMap(): MapGraph {
  const p = pointwiseSsim();
  const named = new Map(p.named);
  const cs = div(named.get('A2')!, named.get('B2')!);
  const { mu_x, mu_y, m_xx, m_yy, m_xy } = p.inputs;
  const [gmx, gxx, gxy, gmy, gyy] = grad(cs, [mu_x, m_xx, m_xy, mu_y, m_yy]);
  return { name: 'cs', F: cs, dX: { mu: gmx!, sq: gxx!, cross: gxy! }, dY: { mu: gmy!, sq: gyy!, cross: gxy! } };
}

const times = (a: Float64Array, b: Float64Array, c = 1): Float64Array => a.map((v, i) => c * v * b[i]!);

/**
 * Per-plane means of F over the region (shape N x C), and, when `planeWeights` is given, the
 * gradient of sum_p planeWeights[p] * means[p] with respect to x and y (each of `shape`).
 */
export function planeMeans(
  x: Float64Array,
  y: Float64Array,
  shape: Shape4,
  config: SsimConfig,
  map: MapGraph,
  planeWeights: Float64Array | null,
): { means: Float64Array; gradX: Float64Array | null; gradY: Float64Array | null } {
  const [N, C] = shape;
  const { window, region } = windowAndRegion(shape, config);
  const n = sizeOf(window.outShape);
  const env = {
    mu_x: window.apply(x),
    mu_y: window.apply(y),
    m_xx: window.apply(times(x, x)),
    m_yy: window.apply(times(y, y)),
    m_xy: window.apply(times(x, y)),
    C1: new Float64Array(n).fill(config.C1),
    C2: new Float64Array(n).fill(config.C2),
    c_n: new Float64Array(n).fill(config.covNorm),
  };
  const outputs = planeWeights === null ? [map.F] : [map.F, map.dX.mu, map.dX.sq, map.dX.cross, map.dY.mu, map.dY.sq];
  const [F, gmx, gxx, gxy, gmy, gyy] = evaluateVec(outputs, env, n);
  const [, , rh, rw] = region.outShape;
  const perPlane = rh * rw;
  const inRegion = region.apply(F!);
  const means = new Float64Array(N * C);
  for (let p = 0; p < N * C; p++) {
    let s = 0;
    for (let q = 0; q < perPlane; q++) s += inRegion[p * perPlane + q]!;
    means[p] = s / perPlane;
  }
  if (planeWeights === null) return { means, gradX: null, gradY: null };
  // omega: each plane's weight over its region pixels, zero outside the region
  const w = new Float64Array(sizeOf(region.outShape));
  for (let p = 0; p < N * C; p++) w.fill(planeWeights[p]! / perPlane, p * perPlane, (p + 1) * perPlane);
  const omega = region.transpose(w);
  const WT = (v: Float64Array): Float64Array => window.transpose(times(omega, v));
  const crossT = WT(gxy!);
  const mxT = WT(gmx!), xxT = WT(gxx!), myT = WT(gmy!), yyT = WT(gyy!);
  const gradX = x.map((xv, i) => mxT[i]! + 2 * xv * xxT[i]! + y[i]! * crossT[i]!);
  const gradY = y.map((yv, i) => myT[i]! + 2 * yv * yyT[i]! + x[i]! * crossT[i]!);
  return { means, gradX, gradY };
}

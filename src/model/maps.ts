/**
 * Pointwise maps of the window moments as scalar graphs with their partials: S itself, and the
 * contrast-structure term cs = A2/B2 (MS-SSIM multiplies its means across scales). A variant's
 * own map lives in its declaration (src/variants); the field graph windows any of them
 * (src/graph/ssim.ts, windowedMap).
 */
import { abs, div, grad, sub, variable, type Node } from '../expr/index.js';
import { pointwiseSsim } from './pointwise.js';

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

/**
 * A pointwise term of the two images' pixels, summed over every pixel beside the reduced map (the
 * 3DGS loss's L1): its value and its partials in xv and yv, the pixel values.
 */
export interface PixelTerm {
  readonly name: string;
  readonly F: Node;
  readonly dX: Node;
  readonly dY: Node;
}

/** |x - y|, its partials sign(x - y) and -sign(x - y) (0 where x = y, as PyTorch takes it). */
export function l1Pixel(): PixelTerm {
  const x = variable('xv'), y = variable('yv');
  const F = abs(sub(x, y));
  const [dX, dY] = grad(F, [x, y]);
  return { name: 'l1', F, dX: dX!, dY: dY! };
}

/**
 * S, the pointwise part of SSIM, as one expression graph over the five window statistics
 * (DESIGN.md, "The mathematics"), with its partials with respect to the raw moments.
 * C1, C2 and the covariance normaliser are variables, so one graph serves every preset.
 */
import { add, diff, div, evaluate, grad, mul, sub, variable, type Node } from '../expr/index.js';

/** The graph of S with its named intermediates and partials. */
export interface PointwiseSsim {
  /** Inputs: the raw moments (windowed means of x, y, x*x, y*y, x*y) and the constants. */
  readonly inputs: {
    mu_x: Node; mu_y: Node; m_xx: Node; m_yy: Node; m_xy: Node;
    C1: Node; C2: Node;
    /** Covariance normaliser: NP/(NP-1) for sample covariance, else 1. */
    c_n: Node;
  };
  /** Named intermediates, in the order a reader meets them. */
  readonly named: ReadonlyArray<readonly [string, Node]>;
  readonly S: Node;
  /** dS/d(mu_x, m_xx, m_xy): the maps g_mu, g_xx, g_xy for the gradient with respect to x. */
  readonly partialsX: { mu: Node; sq: Node; cross: Node };
  /** dS/d(mu_y, m_yy, m_xy): the same for the gradient with respect to y. */
  readonly partialsY: { mu: Node; sq: Node; cross: Node };
}

/** The statistics S is a function of: the means, the (co)variances and the constants. */
export interface SsimStatistics {
  readonly mu_x: Node; readonly mu_y: Node;
  readonly var_x: Node; readonly var_y: Node; readonly cov: Node;
  readonly C1: Node; readonly C2: Node;
}

/**
 * S = A1 A2 / (B1 B2) over the statistics, whatever they are built from (the raw moments here, the
 * central statistics as variables in src/check/central.ts): A1 = 2 mu_x mu_y + C1,
 * B1 = mu_x^2 + mu_y^2 + C1, A2 = 2 cov + C2, B2 = var_x + var_y + C2.
 */
export function ssimOfStatistics(t: SsimStatistics): { A1: Node; B1: Node; A2: Node; B2: Node; S: Node } {
  const A1 = add(mul(2, t.mu_x, t.mu_y), t.C1);
  const B1 = add(mul(t.mu_x, t.mu_x), mul(t.mu_y, t.mu_y), t.C1);
  const A2 = add(mul(2, t.cov), t.C2);
  const B2 = add(t.var_x, t.var_y, t.C2);
  return { A1, B1, A2, B2, S: div(mul(A1, A2), mul(B1, B2)) };
}

/** Builds S and its partials. Interning makes repeated calls return the same nodes. */
export function pointwiseSsim(): PointwiseSsim {
  const mu_x = variable('mu_x');
  const mu_y = variable('mu_y');
  const m_xx = variable('m_xx');
  const m_yy = variable('m_yy');
  const m_xy = variable('m_xy');
  const C1 = variable('C1');
  const C2 = variable('C2');
  const c_n = variable('c_n');
  const var_x = mul(c_n, sub(m_xx, mul(mu_x, mu_x)));
  const var_y = mul(c_n, sub(m_yy, mul(mu_y, mu_y)));
  const cov = mul(c_n, sub(m_xy, mul(mu_x, mu_y)));
  const { A1, B1, A2, B2, S } = ssimOfStatistics({ mu_x, mu_y, var_x, var_y, cov, C1, C2 });
  const [gmx, gxx, gxyX, gmy, gyy] = grad(S, [mu_x, m_xx, m_xy, mu_y, m_yy]);
  // the kernels' reduction weight (src/emit/kernels.ts, pointwiseGraphs), interned here, after S and
  // before any other map's nodes: products order their factors by creation, so the generated code of
  // every map is the same whenever and in whatever order the maps are built
  variable('omega');
  return {
    inputs: { mu_x, mu_y, m_xx, m_yy, m_xy, C1, C2, c_n },
    named: [
      ['var_x', var_x], ['var_y', var_y], ['cov', cov],
      ['A1', A1], ['B1', B1], ['A2', A2], ['B2', B2], ['S', S],
    ],
    S,
    partialsX: { mu: gmx!, sq: gxx!, cross: gxyX! },
    partialsY: { mu: gmy!, sq: gyy!, cross: gxyX! },
  };
}

/** The five per-pixel products the window moments average, as scalar graphs over the pixel values x and y. */
export interface MomentProducts {
  /** The pixel values (variables). */
  readonly x: Node;
  readonly y: Node;
  /** What each moment averages: mu_x over x, m_xx over x*x, ... (keyed by the moment's name in pointwiseSsim). */
  readonly products: { readonly mu_x: Node; readonly mu_y: Node; readonly m_xx: Node; readonly m_yy: Node; readonly m_xy: Node };
}

/**
 * The moment products p_x = x, p_y = y, p_xx = x x, p_yy = y y, p_xy = x y. A moment is a window
 * sum of its product, so the gradient with respect to x of anything of the moments is
 * sum_m (W^T g_m) d p_m / dx: the chain rule the kernels apply after the transposed windows
 * (vjp of these products, seeded with W^T g). The variables are named `xName`, `yName`.
 */
export function momentProducts(xName = 'x', yName = 'y'): MomentProducts {
  const x = variable(xName);
  const y = variable(yName);
  return { x, y, products: { mu_x: x, mu_y: y, m_xx: mul(x, x), m_yy: mul(y, y), m_xy: mul(x, y) } };
}

/**
 * What one pixel of the image differentiated contributes to each windowed product there, read from
 * the products' graph: for x, d mu_x/dx, d m_xx/dx and d m_xy/dx at (x, y) = (self, other), that is
 * 1, 2x and y (for y the same with the roles swapped).
 */
export function productPartials(side: 'x' | 'y', self: number, other: number): { mu: number; sq: number; cross: number } {
  const { x, y, products: p } = momentProducts();
  const [v, mu, sq] = side === 'x' ? [x, p.mu_x, p.m_xx] : [y, p.mu_y, p.m_yy];
  const at = side === 'x' ? { x: self, y: other } : { x: other, y: self };
  return { mu: evaluate(diff(mu, v), at), sq: evaluate(diff(sq, v), at), cross: evaluate(diff(p.m_xy, v), at) };
}

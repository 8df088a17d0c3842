/**
 * S written over the central statistics (mu_x, mu_y, var_x, var_y, cov) instead of the raw
 * moments. Its partials are what a derivation on paper usually writes down; the chain rule to
 * the raw moments (var_x = c_n (m_xx - mu_x^2), cov = c_n (m_xy - mu_x mu_y)) is where two of
 * the known mistakes live: dropping the means' share of var and cov, and dropping c_n.
 */
import { add, div, grad, mul, neg, substitute, variable, type Node } from '../expr/index.js';
import type { GradientTerms } from '../runtime/index.js';
import { ssimOfStatistics } from '../model/pointwise.js';
import type { MistakeContext } from './context.js';
import { anatomy } from './match.js';
import { momentPartials, run } from './rewrite.js';

/** S over (mu_x, mu_y, var_x, var_y, cov, C1, C2) and its partials, each holding the others fixed. */
export interface CentralSsim {
  readonly inputs: { mu_x: Node; mu_y: Node; var_x: Node; var_y: Node; cov: Node; C1: Node; C2: Node };
  readonly S: Node;
  readonly partials: { mu_x: Node; mu_y: Node; var_x: Node; var_y: Node; cov: Node };
}

/** Builds the central-statistics S (interned: repeated calls return the same nodes). */
export function centralSsim(): CentralSsim {
  // created in this order (products order their factors by creation)
  const inputs = {
    mu_x: variable('mu_x'), mu_y: variable('mu_y'), var_x: variable('var_x'), var_y: variable('var_y'), cov: variable('cov'),
    C1: variable('C1'), C2: variable('C2'),
  };
  const { S } = ssimOfStatistics(inputs);
  const [dmx, dmy, dvx, dvy, dc] = grad(S, [inputs.mu_x, inputs.mu_y, inputs.var_x, inputs.var_y, inputs.cov]);
  return { inputs, S, partials: { mu_x: dmx!, mu_y: dmy!, var_x: dvx!, var_y: dvy!, cov: dc! } };
}

/**
 * The exact gradient's three terms with the map's partials rebuilt from S over the central
 * statistics (centralSsim above) through var = c_n (m_xx - mu^2), cov = c_n (m_xy - mu_x mu_y):
 * a self-check of the central graph, run as a rewrite of the graph's partials (it must give the
 * exact terms back).
 */
export function exactFromCentral(ctx: MistakeContext): GradientTerms {
  const c = centralSsim();
  const [mx, my, xx, yy, xy, cn] = ['mu_x', 'mu_y', 'm_xx', 'm_yy', 'm_xy', 'c_n'].map((n) => variable(n)) as [Node, Node, Node, Node, Node, Node];
  const at = new Map<string, Node>([
    ['var_x', mul(cn, add(xx, neg(mul(mx, mx))))],
    ['var_y', mul(cn, add(yy, neg(mul(my, my))))],
    ['cov', mul(cn, add(xy, neg(mul(mx, my))))],
  ]);
  const [dmx, dmy, dvx, dvy, dc] = substitute([c.partials.mu_x, c.partials.mu_y, c.partials.var_x, c.partials.var_y, c.partials.cov], at) as [Node, Node, Node, Node, Node];
  const raw: Readonly<Record<string, Node>> = {
    mu_x: add(dmx, mul(-2, cn, mx, dvx), mul(-1, cn, my, dc)),
    mu_y: add(dmy, mul(-2, cn, my, dvy), mul(-1, cn, mx, dc)),
    m_xx: mul(cn, dvx),
    m_yy: mul(cn, dvy),
    m_xy: mul(cn, dc),
  };
  const a = anatomy(ctx);
  const r = run(ctx, a, { steps: [momentPartials(a, (arg) => raw[arg])] }, true);
  if (r.terms === null) throw new Error('exactFromCentral: the graph windows no single map of the moments');
  return r.terms;
}

/**
 * S written over the central statistics (mu_x, mu_y, var_x, var_y, cov) instead of the raw
 * moments. Its partials are what a derivation on paper usually writes down; the chain rule to
 * the raw moments (var_x = c_n (m_xx - mu_x^2), cov = c_n (m_xy - mu_x mu_y)) is where two of
 * the known mistakes live: dropping the means' share of var and cov, and dropping c_n.
 */
import { grad, variable, type Node } from '../expr/index.js';
import { ssimOfStatistics } from '../model/pointwise.js';

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

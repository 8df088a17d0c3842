/**
 * S written over the central statistics (mu_x, mu_y, var_x, var_y, cov) instead of the raw
 * moments. Its partials are what a derivation on paper usually writes down; the chain rule to
 * the raw moments (var_x = c_n (m_xx - mu_x^2), cov = c_n (m_xy - mu_x mu_y)) is where two of
 * the known mistakes live: dropping the means' share of var and cov, and dropping c_n.
 */
import { add, div, grad, mul, variable, type Node } from '../expr/index.js';

/** S over (mu_x, mu_y, var_x, var_y, cov, C1, C2) and its partials, each holding the others fixed. */
export interface CentralSsim {
  readonly inputs: { mu_x: Node; mu_y: Node; var_x: Node; var_y: Node; cov: Node; C1: Node; C2: Node };
  readonly S: Node;
  readonly partials: { mu_x: Node; mu_y: Node; var_x: Node; var_y: Node; cov: Node };
}

/** Builds the central-statistics S (interned: repeated calls return the same nodes). */
export function centralSsim(): CentralSsim {
  const mu_x = variable('mu_x');
  const mu_y = variable('mu_y');
  const var_x = variable('var_x');
  const var_y = variable('var_y');
  const cov = variable('cov');
  const C1 = variable('C1');
  const C2 = variable('C2');
  const A1 = add(mul(2, mu_x, mu_y), C1);
  const B1 = add(mul(mu_x, mu_x), mul(mu_y, mu_y), C1);
  const A2 = add(mul(2, cov), C2);
  const B2 = add(var_x, var_y, C2);
  const S = div(mul(A1, A2), mul(B1, B2));
  const [dmx, dmy, dvx, dvy, dc] = grad(S, [mu_x, mu_y, var_x, var_y, cov]);
  return {
    inputs: { mu_x, mu_y, var_x, var_y, cov, C1, C2 },
    S,
    partials: { mu_x: dmx!, mu_y: dmy!, var_x: dvx!, var_y: dvy!, cov: dc! },
  };
}

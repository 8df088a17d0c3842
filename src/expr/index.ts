/** The scalar expression graph: interned nodes, smart constructors, reverse mode, evaluation, printers. */
export type { Node, Op } from './node.js';
export { dagSize, internedCount, topoSort, variablesOf } from './node.js';
export {
  abs, add, div, exp, HALF, log, max, min, MINUS_ONE, mul, neg, num, ONE, pow, powv, rat, relu, sign, sqrt, square, step, sub, variable, ZERO,
} from './build.js';
export type { Operand } from './build.js';
export { evaluate, evaluateMany, evaluateVec, type Env } from './eval.js';
export { diff, grad, jacobian, jvp, vjp } from './grad.js';
export { substitute } from './substitute.js';
export { toInfix } from './print.js';
// the mathjs bridge (./mathjs.js) is imported by its path: it loads mathjs through Node's require, and
// the core must bundle for a browser without it

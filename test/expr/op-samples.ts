/**
 * A few nodes of each op (each sample's root is that op), with domains valid at every real point:
 * the printers' and the op table's tests run every op through every printer. Typed by `Op`, so a
 * new op without samples does not compile.
 */
import { abs, add, div, exp, log, max, mul, num, pow, powv, rat, sign, sqrt, step, sub, type Node, type Op } from '../../src/expr/index.js';
import { rational } from '../../src/expr/rational.js';

export function opSamples(x: Node, y: Node): Record<Op, readonly Node[]> {
  const positive = add(mul(x, x), 1);
  return {
    const: [rat(3, 4), rat(-2), num(Math.PI), num(-Math.PI * 1e-8)],
    var: [x],
    add: [add(x, mul(-2, y), 1), sub(x, y)],
    mul: [mul(3, x, y), div(x, positive), mul(-1, x, y), mul(num(Math.E * 1e-8), x), mul(rat(-2, 3), x, pow(positive, -2))],
    pow: [pow(x, 2), pow(x, 3), pow(x, 5), pow(positive, -1), pow(positive, -2), sqrt(positive), pow(positive, rational(-1n, 2n)), pow(positive, rational(2n, 3n))],
    exp: [exp(mul(0.5, x))],
    log: [log(positive)],
    abs: [abs(sub(x, y))],
    max: [max(x, y), max(x, 0)],
    step: [step(sub(x, y))],
    sign: [sign(sub(x, y))],
    powv: [powv(positive, y)],
  };
}

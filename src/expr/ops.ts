/**
 * One table row per primitive: how to evaluate it on numbers and its local derivative as a
 * node (reusing the forward node where the rule allows, as CasADi's `der` does). Printers keep
 * their own tables keyed by the same `Op`.
 */
import { add, evalPow, HALF, log, mul, ONE, pow, powv, rat, sign, step, sub, ZERO } from './build.js';
import type { Node, Op } from './node.js';
import { addQ, rational } from './rational.js';

export interface OpRule {
  /** Value from the argument values (`node` supplies payloads: constant, exponent). */
  evaluate(node: Node, args: readonly number[]): number;
  /** d node / d node.args[i], as a node; `node` is the forward value f. */
  derivative(node: Node, i: number): Node;
}

const noArgs = (): Node => {
  throw new Error('derivative of a leaf');
};

export const rules: Record<Op, OpRule> = {
  const: { evaluate: (n) => n.value, derivative: noArgs },
  var: {
    evaluate: (n) => {
      throw new Error(`variable '${n.name}' has no value`);
    },
    derivative: noArgs,
  },
  add: {
    evaluate: (_, a) => a.reduce((s, v) => s + v, 0),
    derivative: () => ONE,
  },
  mul: {
    evaluate: (_, a) => a.reduce((p, v) => p * v, 1),
    // d(prod)/d a_i = product of the others (not f / a_i, which fails where a_i = 0).
    derivative: (n, i) => mul(...n.args.filter((_, j) => j !== i)),
  },
  pow: {
    evaluate: (n, [x]) => evalPow(x!, n.rat!),
    // r x^(r-1); for r = 1/2 this interns as 1/(2 sqrt x), i.e. it reuses f.
    derivative: (n) => mul(rat(n.rat!.num, n.rat!.den), pow(n.args[0]!, addQ(n.rat!, rational(-1n)))),
  },
  exp: { evaluate: (_, [x]) => Math.exp(x!), derivative: (n) => n },
  log: { evaluate: (_, [x]) => Math.log(x!), derivative: (n) => pow(n.args[0]!, -1) },
  abs: { evaluate: (_, [x]) => Math.abs(x!), derivative: (n) => sign(n.args[0]!) },
  max: {
    evaluate: (_, [a, b]) => Math.max(a!, b!),
    // At a tie against a constant the gradient is 0 (relu(x) = max(x, 0) at x = 0, as torch.relu);
    // at a tie of two expressions it is split in half (as torch.maximum).
    derivative: (n, i) => {
      const self = n.args[i]!;
      const other = n.args[1 - i]!;
      if (other.op === 'const') return step(sub(self, other));
      if (self.op === 'const') return sub(ONE, step(sub(other, self)));
      return mul(HALF, add(ONE, sign(sub(self, other))));
    },
  },
  step: { evaluate: (_, [x]) => (x! > 0 ? 1 : 0), derivative: () => ZERO },
  sign: { evaluate: (_, [x]) => Math.sign(x!), derivative: () => ZERO },
  powv: {
    evaluate: (_, [b, e]) => Math.pow(b!, e!),
    // d/db = e b^(e-1); d/de = f log b (the latter only where b > 0)
    derivative: (n, i) => (i === 0 ? mul(n.args[1]!, powv(n.args[0]!, add(n.args[1]!, -1))) : mul(n, log(n.args[0]!))),
  },
};


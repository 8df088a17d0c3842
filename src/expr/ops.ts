/**
 * One table row per primitive, the one place an op is defined: how to evaluate it on numbers, its
 * local derivative as a node (reusing the forward node where the rule allows, as CasADi's `der`
 * does), how to rebuild it on new arguments, and how every printer spells it (infix, LaTeX, straight-line
 * code in TypeScript float64, emulated float32 and C++, mathjs). The table is a `Record<Op, OpRow>`,
 * so an op without a row, or a row without a printer's spelling, does not compile; the printers
 * only walk the graph and read the row.
 */
import { abs, add, evalPow, exp, HALF, log, max, mul, ONE, pow, powv, rat, sign, step, sub, ZERO } from './build.js';
import type { Node, Op } from './node.js';
import {
  ATOM,
  codeCall,
  codeConstant,
  codePower,
  codeProduct,
  codeSum,
  infixCall,
  infixConstant,
  infixPower,
  infixProduct,
  latexCall,
  latexNumber,
  latexPower,
  latexProduct,
  latexRational,
  POWER,
  PRODUCT,
  sum,
  type Code,
  type CodeTarget,
  type InfixPrinter,
  type LatexPrinter,
  type Printed,
} from './notation.js';
import { addQ, rational } from './rational.js';

/** A mathjs function that fromMathjs reads: its name, how many arguments (`variadic`: that many or more), our node from them. */
export interface MathjsFunction {
  readonly name: string;
  readonly arity: number;
  readonly variadic: boolean;
  readonly parse: (args: readonly Node[]) => Node;
}

/**
 * How mathjs spells an op: a function it parses by name (`builtin: false` when mathjs lacks it, so
 * evaluating printed strings needs `mathjsScope`), or syntax of mathjs's own (numbers, symbols,
 * operators), which mathjs.ts reads by its node types.
 */
export type MathjsSpelling = { readonly function: MathjsFunction; readonly builtin: boolean } | { readonly syntax: string };

export interface OpRow {
  /** Value from the argument values (`node` supplies payloads: constant, exponent). */
  evaluate(node: Node, args: readonly number[]): number;
  /** d node / d node.args[i], as a node; `node` is the forward value f. */
  derivative(node: Node, i: number): Node;
  /** The op on new arguments, through its smart constructor (`node` supplies payloads). */
  rebuild(node: Node, args: readonly Node[]): Node;
  /** Infix in mathjs syntax, which mathjs parses back to the same function (print.ts). */
  infix(node: Node, p: InfixPrinter): Printed;
  /** LaTeX (latex.ts). */
  latex(node: Node, p: LatexPrinter): Printed;
  /** One line of straight-line code from the arguments' names (pointwise.ts); a leaf's code is inlined where it is used. */
  code(node: Node, args: readonly string[], t: CodeTarget): Code;
  /** How mathjs spells it (mathjs.ts). */
  mathjs: MathjsSpelling;
}

const noArgs = (): Node => {
  throw new Error('derivative of a leaf');
};
const itself = (n: Node): Node => n;

export const rules: Record<Op, OpRow> = {
  const: {
    evaluate: (n) => n.value,
    derivative: noArgs,
    rebuild: itself,
    infix: infixConstant,
    latex: (n) => (n.rat !== undefined ? latexRational(n.rat) : latexNumber(n.value)),
    code: (n, _, t) => ({ expr: codeConstant(n, t), flops: 0 }),
    mathjs: { syntax: 'ConstantNode' },
  },
  var: {
    evaluate: (n) => {
      throw new Error(`variable '${n.name}' has no value`);
    },
    derivative: noArgs,
    rebuild: itself,
    infix: (n) => ({ text: n.name!, prec: ATOM }),
    latex: (n, p) => ({ text: p.variable(n.name!) ?? n.name!.replace(/_(\w+)$/, '_{$1}'), prec: ATOM }),
    code: (n) => ({ expr: n.name!, flops: 0 }),
    mathjs: { syntax: 'SymbolNode' },
  },
  add: {
    evaluate: (_, a) => a.reduce((s, v) => s + v, 0),
    derivative: () => ONE,
    rebuild: (_, a) => add(...a),
    infix: sum,
    latex: sum,
    code: (_, a, t) => codeSum(a, t),
    mathjs: { syntax: 'OperatorNode add, subtract, unaryMinus' },
  },
  mul: {
    evaluate: (_, a) => a.reduce((p, v) => p * v, 1),
    // d(prod)/d a_i = product of the others (not f / a_i, which fails where a_i = 0).
    derivative: (n, i) => mul(...n.args.filter((_, j) => j !== i)),
    rebuild: (_, a) => mul(...a),
    infix: infixProduct,
    latex: latexProduct,
    code: codeProduct,
    mathjs: { syntax: 'OperatorNode multiply, divide' },
  },
  pow: {
    evaluate: (n, [x]) => evalPow(x!, n.rat!),
    // r x^(r-1); for r = 1/2 this interns as 1/(2 sqrt x), i.e. it reuses f.
    derivative: (n) => mul(rat(n.rat!.num, n.rat!.den), pow(n.args[0]!, addQ(n.rat!, rational(-1n)))),
    rebuild: (n, [x]) => pow(x!, n.rat!),
    infix: (n, p) => infixPower(n.args[0]!, n.rat!, p),
    latex: (n, p) =>
      n.rat!.num < 0n
        ? { text: `\\frac{1}{${latexPower(n.args[0]!, { num: -n.rat!.num, den: n.rat!.den }, p).text}}`, prec: PRODUCT }
        : latexPower(n.args[0]!, n.rat!, p),
    code: (n, [x], t) => codePower(n.rat!, x!, t),
    mathjs: { syntax: 'OperatorNode pow with a constant exponent, sqrt, square, cube' },
  },
  exp: {
    evaluate: (_, [x]) => Math.exp(x!),
    derivative: itself,
    rebuild: (_, [x]) => exp(x!),
    infix: infixCall('exp'),
    latex: (n, p) => ({ text: `e^{${p.go(n.args[0]!).text}}`, prec: POWER }),
    code: codeCall('exp'),
    mathjs: { function: { name: 'exp', arity: 1, variadic: false, parse: ([x]) => exp(x!) }, builtin: true },
  },
  log: {
    evaluate: (_, [x]) => Math.log(x!),
    derivative: (n) => pow(n.args[0]!, -1),
    rebuild: (_, [x]) => log(x!),
    infix: infixCall('log'),
    latex: latexCall('\\log'),
    code: codeCall('log'),
    mathjs: { function: { name: 'log', arity: 1, variadic: false, parse: ([x]) => log(x!) }, builtin: true },
  },
  abs: {
    evaluate: (_, [x]) => Math.abs(x!),
    derivative: (n) => sign(n.args[0]!),
    rebuild: (_, [x]) => abs(x!),
    infix: infixCall('abs'),
    latex: (n, p) => ({ text: `\\left\\lvert ${p.go(n.args[0]!).text} \\right\\rvert`, prec: ATOM }),
    code: codeCall('abs'),
    mathjs: { function: { name: 'abs', arity: 1, variadic: false, parse: ([x]) => abs(x!) }, builtin: true },
  },
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
    rebuild: (_, [a, b]) => max(a!, b!),
    infix: infixCall('max'),
    latex: latexCall('\\max'),
    // the maximum of two rounded values is one of them: no rounding
    code: (_, [a, b], t) => ({ expr: `${t.fn('max')}(${a}, ${b})`, flops: 1 }),
    // mathjs's max is n-ary: max(a, b, c) = max(max(a, b), c)
    mathjs: { function: { name: 'max', arity: 2, variadic: true, parse: (a) => a.slice(1).reduce((m, x) => max(m, x), a[0]!) }, builtin: true },
  },
  step: {
    evaluate: (_, [x]) => (x! > 0 ? 1 : 0),
    derivative: () => ZERO,
    rebuild: (_, [x]) => step(x!),
    infix: infixCall('step'),
    latex: latexCall('H'),
    code: (_, [x], t) => ({ expr: t.bool(`${x} > 0`), flops: 1 }),
    mathjs: { function: { name: 'step', arity: 1, variadic: false, parse: ([x]) => step(x!) }, builtin: false },
  },
  sign: {
    evaluate: (_, [x]) => Math.sign(x!),
    derivative: () => ZERO,
    rebuild: (_, [x]) => sign(x!),
    infix: infixCall('sign'),
    latex: latexCall('\\operatorname{sgn}'),
    // C++ has no std::sign; (a > 0) - (a < 0) is its usual spelling
    code: (n, a, t) => (t.lang === 'ts' ? codeCall('sign')(n, a, t) : { expr: `T((${a[0]} > 0) - (${a[0]} < 0))`, flops: 1 }),
    mathjs: { function: { name: 'sign', arity: 1, variadic: false, parse: ([x]) => sign(x!) }, builtin: true },
  },
  powv: {
    evaluate: (_, [b, e]) => Math.pow(b!, e!),
    // d/db = e b^(e-1); d/de = f log b (the latter only where b > 0)
    derivative: (n, i) => (i === 0 ? mul(n.args[1]!, powv(n.args[0]!, add(n.args[1]!, -1))) : mul(n, log(n.args[0]!))),
    rebuild: (_, [b, e]) => powv(b!, e!),
    infix: (n, p) => ({ text: `${p.wrap(p.go(n.args[0]!), ATOM)}^(${p.go(n.args[1]!).text})`, prec: POWER }),
    latex: (n, p) => ({ text: `${p.wrap(p.go(n.args[0]!), ATOM)}^{${p.go(n.args[1]!).text}}`, prec: POWER }),
    code: codeCall('pow'),
    mathjs: { syntax: 'OperatorNode pow with an expression exponent' },
  },
};
